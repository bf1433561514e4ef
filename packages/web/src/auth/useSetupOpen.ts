import { setupStatus } from '@sotong/sdk';
import { useEffect, useState } from 'react';
import { httpBase } from '../session/session';

/** Whether the server's first-run set-up is still open (its owner has never signed in). */
export function useSetupOpen(): boolean {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    void setupStatus(httpBase()).then((status) => setOpen(status.open), () => undefined);
  }, []);
  return open;
}
