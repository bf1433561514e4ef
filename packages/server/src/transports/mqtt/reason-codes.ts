import type { ErrorCode } from '@sotong/protocol';

/** MQTT 3.1.1 CONNACK return codes and MQTT 5 reason codes for our typed errors. */
export const V4_CONNACK = { accepted: 0, badVersion: 1, badClientId: 2, unavailable: 3, badCredentials: 4, notAuthorized: 5 } as const;

export const V5 = {
  success: 0x00,
  grantedQos1: 0x01,
  continueAuthentication: 0x18,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badCredentials: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  connectionRateExceeded: 0x9f,
  wildcardNotSupported: 0xa2,
} as const;

/** SUBACK (v3.1.1) failure. */
export const V4_SUBACK_FAILURE = 0x80;

export function connackCode(code: ErrorCode, version: number): number {
  if (version === 5) {
    switch (code) {
      case 'unauthenticated':
        return V5.badCredentials;
      case 'unsupported_version':
        return V5.unsupportedProtocolVersion;
      case 'rate_limited':
        return V5.connectionRateExceeded;
      case 'forbidden':
        return V5.notAuthorized;
      default:
        return V5.serverUnavailable;
    }
  }
  switch (code) {
    case 'unauthenticated':
      return V4_CONNACK.badCredentials;
    case 'unsupported_version':
      return V4_CONNACK.badVersion;
    case 'forbidden':
      return V4_CONNACK.notAuthorized;
    default:
      return V4_CONNACK.unavailable;
  }
}

/** PUBACK / SUBACK reason (MQTT 5) for a refused publish or subscribe. */
export function refusalCode(code: ErrorCode): number {
  switch (code) {
    case 'forbidden':
    case 'not_found':
    case 'unauthenticated':
      return V5.notAuthorized;
    case 'bad_request':
      return V5.payloadFormatInvalid;
    case 'rate_limited':
    case 'quota_exceeded':
      return V5.quotaExceeded;
    default:
      return V5.implementationSpecific;
  }
}
