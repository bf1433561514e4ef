import { SotongError } from '@sotong/sdk';
import type { TFunction } from 'i18next';

/** A refusal in the reader's language: the typed code picks the sentence. */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof SotongError) return t(`errors.${error.code}`);
  return t('errors.internal');
}
