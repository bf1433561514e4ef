import type { ChannelView } from '@sotong/protocol';

/** A channel's name as the sidebar shows it: `#name`, or the other people for DMs. */
export function channelLabel(channel: ChannelView, name: (userId: string) => string, meId: string | undefined): string {
  if (channel.kind === 'dm' || channel.kind === 'group_dm') {
    const others = (channel.memberIds ?? []).filter((id) => id !== meId);
    return others.length > 0 ? others.map(name).join(', ') : channel.name;
  }
  return channel.name;
}

export const isConversation = (channel: ChannelView) => channel.kind === 'dm' || channel.kind === 'group_dm';
