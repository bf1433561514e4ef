import { z } from 'zod';
import { FileInfo, Id } from './model.js';

/** Which messages raise a desktop notification: every message, only mentions and DMs (the default), or none. */
export const DesktopNotify = z.enum(['all', 'mentions', 'none']);
export type DesktopNotify = z.infer<typeof DesktopNotify>;

/** A person's notification preferences, the same on every device they use. */
export const NotificationPrefs = z.object({
  desktop: DesktopNotify,
  /** Channels that raise no notification and show no unread count, except for mentions of the person. */
  mutedChannelIds: z.array(Id),
});
export type NotificationPrefs = z.infer<typeof NotificationPrefs>;

/** A file sent in a channel, as the channel's file list shows it. */
export const ChannelFile = FileInfo.extend({ uploaderId: Id, messageId: Id });
export type ChannelFile = z.infer<typeof ChannelFile>;
