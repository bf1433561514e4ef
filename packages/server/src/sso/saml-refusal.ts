/** Why a SAML message was refused: carried as `details.reason` of an `unauthenticated` error and in the audit entry. */
export type SamlRefusalReason =
  | 'malformed'
  | 'unsigned'
  | 'tampered'
  | 'untrusted_key'
  | 'signature_wrapping'
  | 'expired'
  | 'wrong_audience'
  | 'wrong_destination'
  | 'wrong_recipient'
  | 'wrong_issuer'
  | 'unknown_request'
  | 'unsolicited'
  | 'replayed'
  | 'idp_error'
  | 'missing_attribute'
  | 'unknown_user'
  | 'deactivated'
  | 'bad_code';

export class SamlRefusal extends Error {
  constructor(
    readonly reason: SamlRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'SamlRefusal';
  }
}
