import type { DesktopNotify } from '@sotong/protocol';

/** Whether a new message raises a desktop notification under the person's level and channel mute. */
export function shouldNotify(level: DesktopNotify, facts: { direct: boolean; mentioned: boolean; muted: boolean }): boolean {
  if (level === 'none') return false;
  if (facts.mentioned) return true;
  if (facts.muted) return false;
  return level === 'all' || facts.direct;
}
