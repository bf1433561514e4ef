import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { Dialog } from '../ui/Dialog';
import { errorText } from '../ui/errors';

export function CreateChannel({ onOpen, onClose }: { onOpen: (id: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const [error, setError] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      const view = await client.call('channel.create', { name: name.trim(), kind, topic });
      onOpen(view.id);
    } catch (err) {
      setError(errorText(t, err));
    }
  }

  return (
    <Dialog title={t('create.title')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>
          {t('create.name')}
          <input required value={name} onChange={(e) => setName(e.target.value)} pattern="[^\s#@,]+" title={t('create.nameRule')} />
        </label>
        <label>
          {t('create.topic')}
          <input value={topic} onChange={(e) => setTopic(e.target.value)} maxLength={250} />
        </label>
        <fieldset>
          <legend>{t('create.visibility')}</legend>
          <label>
            <input type="radio" name="kind" checked={kind === 'public'} onChange={() => setKind('public')} /> {t('create.public')}
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === 'private'} onChange={() => setKind('private')} /> {t('create.private')}
          </label>
        </fieldset>
        {error && <p role="alert">{error}</p>}
        <button type="submit" className="primary">
          {t('create.submit')}
        </button>
      </form>
    </Dialog>
  );
}
