import type { IdentityStatus } from '@sotong/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { errorText } from '../ui/errors';
import { DevicePolicy } from './DevicePolicy';
import { DirectoryStatus } from './DirectoryStatus';
import { SsoStatus } from './SsoStatus';

/** The admin console's "Directory & SSO" tab: where people and sign-ins come from, and who may bring a new device. */
export function IdentityPanel() {
  const { t } = useTranslation();
  const { rest } = useSession();
  const [status, setStatus] = useState<IdentityStatus>();
  const [error, setError] = useState<string>();
  useEffect(() => void rest.identityStatus().then(setStatus, (err: unknown) => setError(errorText(t, err))), [rest, t]);
  return (
    <div className="identity-panel">
      {error && <p role="alert">{error}</p>}
      {!status && !error && <p>{t('common.loading')}</p>}
      {status && (
        <>
          {status.directory ? <DirectoryStatus /> : <Off title={t('adminIdentity.directory')} text={t('adminIdentity.directoryOff')} />}
          {status.saml ? <SsoStatus saml={status.saml} /> : <Off title={t('adminIdentity.sso')} text={t('adminIdentity.ssoOff')} />}
        </>
      )}
      <DevicePolicy />
    </div>
  );
}

function Off({ title, text }: { title: string; text: string }) {
  return (
    <section>
      <h3>{title}</h3>
      <p>{text}</p>
    </section>
  );
}
