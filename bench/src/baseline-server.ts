/**
 * The baseline: a bare `ws` server speaking just enough of Sotong's frames for the load generator
 * (auth, channel.create, dm.open, message.send, ping). No storage, no permission checks, no
 * validation beyond what it needs: it shows what the hardware and `ws` do on the same workload.
 *
 * A message.send is acked with a result, then its event is JSON-encoded ONCE into a Buffer and
 * that Buffer is sent to every socket of every member of the channel.
 *
 * Run as a child process: `node baseline-server.js` (forked with IPC: it sends `{port}`), or
 * standalone with `--port N` (prints `listening <port>` on stderr).
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuthResult, ChannelEvent, ChannelView, Message, ServerFrame } from '@sotong/protocol';

const HEARTBEAT_MS = 30_000;
const WORKSPACE = 'w-bench';

interface Session {
  socket: WebSocket;
  userId: string | null;
}

interface Chan {
  view: Omit<ChannelView, 'lastReadSeq' | 'unreadCount' | 'mentionCount' | 'memberIds'>;
  members: Set<string>;
}

const channels = new Map<string, Chan>();
const dmByPair = new Map<string, string>();
/** userId → its open, authenticated sockets. */
const socketsByUser = new Map<string, Set<WebSocket>>();
let nextChannel = 1;
let nextMessage = 1;

function send(socket: WebSocket, frame: ServerFrame): void {
  socket.send(JSON.stringify(frame));
}

function viewFor(chan: Chan, userId: string): ChannelView {
  const view: ChannelView = { ...chan.view, lastReadSeq: 0, unreadCount: 0, mentionCount: 0 };
  if (chan.view.kind === 'dm') view.memberIds = [...chan.members].filter((m) => m !== userId);
  return view;
}

function makeChannel(kind: 'public' | 'dm', name: string, createdBy: string, members: Iterable<string>): Chan {
  const id = `c${nextChannel++}`;
  const set = new Set(members);
  set.add(createdBy);
  const chan: Chan = {
    view: {
      id,
      workspaceId: WORKSPACE,
      kind,
      name,
      topic: '',
      purpose: '',
      createdBy,
      createdAt: Date.now(),
      archived: false,
      lastSeq: 0,
      memberCount: set.size,
    },
    members: set,
  };
  channels.set(id, chan);
  return chan;
}

function fail(socket: WebSocket, id: string | undefined, message: string): void {
  send(socket, id === undefined ? { t: 'error', code: 'bad_request', message } : { t: 'error', id, code: 'bad_request', message });
}

function onCommand(session: Session, userId: string, id: string, cmd: string, args: Record<string, unknown>): void {
  const { socket } = session;
  switch (cmd) {
    case 'message.send': {
      const chan = channels.get(String(args.channelId));
      if (!chan || !chan.members.has(userId)) return fail(socket, id, 'no such channel');
      const seq = ++chan.view.lastSeq;
      const now = Date.now();
      const message: Message = {
        id: `m${nextMessage++}`,
        channelId: chan.view.id,
        seq,
        senderId: userId,
        clientMsgId: String(args.clientMsgId),
        threadRootId: null,
        format: 'text/v1',
        text: String(args.text),
        createdAt: now,
        editedAt: null,
        deleted: false,
        pinned: false,
        replyCount: 0,
        lastReplyAt: null,
        mentions: [],
        mentionsChannel: false,
        reactions: [],
      };
      send(socket, { t: 'result', id, data: message });
      const event: ChannelEvent = { type: 'message.posted', channelId: chan.view.id, seq, actorId: userId, at: now, message };
      const frame: ServerFrame = { t: 'event', e: event };
      // Encode once, write many.
      const bytes = Buffer.from(JSON.stringify(frame));
      for (const member of chan.members) {
        const sockets = socketsByUser.get(member);
        if (!sockets) continue;
        for (const s of sockets) s.send(bytes, { binary: false });
      }
      return;
    }
    case 'channel.create': {
      const memberIds = Array.isArray(args.memberIds) ? args.memberIds.map(String) : [];
      const chan = makeChannel('public', String(args.name ?? 'channel'), userId, memberIds);
      return send(socket, { t: 'result', id, data: viewFor(chan, userId) });
    }
    case 'channel.invite': {
      const chan = channels.get(String(args.channelId));
      if (!chan) return fail(socket, id, 'no such channel');
      for (const u of Array.isArray(args.userIds) ? args.userIds : []) chan.members.add(String(u));
      chan.view.memberCount = chan.members.size;
      return send(socket, { t: 'result', id, data: {} });
    }
    case 'dm.open': {
      const other = Array.isArray(args.userIds) ? String(args.userIds[0]) : '';
      const key = [userId, other].sort().join('|');
      let chanId = dmByPair.get(key);
      if (!chanId) {
        chanId = makeChannel('dm', key, userId, [other]).view.id;
        dmByPair.set(key, chanId);
      }
      return send(socket, { t: 'result', id, data: viewFor(channels.get(chanId)!, userId) });
    }
    default:
      return fail(socket, id, `unknown command ${cmd}`);
  }
}

function onFrame(session: Session, raw: string): void {
  let frame: { t?: unknown; id?: unknown; token?: unknown; cmd?: unknown; args?: unknown };
  try {
    frame = JSON.parse(raw) as typeof frame;
  } catch {
    return fail(session.socket, undefined, 'not JSON');
  }
  const id = typeof frame.id === 'string' ? frame.id : undefined;
  if (frame.t === 'ping') return send(session.socket, { t: 'pong' });
  if (frame.t === 'auth' && id !== undefined) {
    // The token is the user id: no auth, by design.
    const userId = String(frame.token);
    session.userId = userId;
    let set = socketsByUser.get(userId);
    if (!set) socketsByUser.set(userId, (set = new Set()));
    set.add(session.socket);
    const subscribed: Record<string, number> = {};
    for (const chan of channels.values()) if (chan.members.has(userId)) subscribed[chan.view.id] = chan.view.lastSeq;
    const data: AuthResult = {
      user: { id: userId, workspaceId: WORKSPACE, email: `${userId}@bench`, displayName: userId, role: 'member', deactivated: false },
      sessionId: `s-${userId}-${set.size}`,
      channels: subscribed,
      heartbeatMs: HEARTBEAT_MS,
      truncated: [],
    };
    return send(session.socket, { t: 'result', id, data });
  }
  if (frame.t === 'cmd' && id !== undefined && session.userId !== null) {
    const args = (frame.args && typeof frame.args === 'object' ? frame.args : {}) as Record<string, unknown>;
    return onCommand(session, session.userId, id, String(frame.cmd), args);
  }
  return fail(session.socket, id, 'unexpected frame');
}

export function startBaseline(port: number): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 1 << 20, backlog: 4096 });
    wss.on('connection', (socket) => {
      const session: Session = { socket, userId: null };
      send(socket, { t: 'hello', v: 1, maxFrameBytes: 1 << 20 });
      socket.on('message', (data) => onFrame(session, data.toString()));
      socket.on('close', () => {
        if (session.userId === null) return;
        const set = socketsByUser.get(session.userId);
        set?.delete(socket);
        if (set?.size === 0) socketsByUser.delete(session.userId);
      });
      socket.on('error', () => socket.terminate());
    });
    wss.once('listening', () => resolve(wss));
    wss.once('error', reject);
  });
}

const portArg = process.argv.indexOf('--port');
const wss = await startBaseline(portArg > 0 ? Number(process.argv[portArg + 1]) : 0);
const address = wss.address();
const port = typeof address === 'object' && address ? address.port : 0;
if (process.send) process.send({ port });
else process.stderr.write(`listening ${port}\n`);
// Stop with the parent: when the IPC channel closes, or on SIGTERM.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
