import type { IdentityStatus } from '@sotong/sdk';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';

/** SAML single sign-on as the server is set up: the IdP, and where the IdP's admin finds our metadata. */
export function SsoStatus({ saml }: { saml: NonNullable<IdentityStatus['saml']> }) {
  const { t } = useTranslation();
  const { httpBase } = useSession();
  return (
    <section aria-labelledby="sso-title">
      <h3 id="sso-title">{t('adminIdentity.sso')}</h3>
      <dl className="profile" data-testid="sso-status">
        <dt>{t('adminIdentity.configured')}</dt>
        <dd>{t('adminIdentity.yes')}</dd>
        <dt>{t('adminIdentity.idpEntityId')}</dt>
        <dd>
          <code>{saml.idpEntityId}</code>
        </dd>
        <dt>{t('adminIdentity.spEntityId')}</dt>
        <dd>
          <code>{saml.spEntityId}</code>
        </dd>
        <dt>{t('adminIdentity.metadata')}</dt>
        <dd>
          <a href={new URL(saml.metadataUrl, httpBase).href} target="_blank" rel="noreferrer">
            {t('adminIdentity.metadataLink')}
          </a>
        </dd>
      </dl>
    </section>
  );
}
