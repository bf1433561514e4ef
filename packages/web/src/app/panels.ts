/** What the right-hand panel shows. */
export type Panel =
  | { kind: 'thread'; rootId: string }
  | { kind: 'members' }
  | { kind: 'pins' }
  | { kind: 'search' }
  | { kind: 'files' };

/** Dialogs over the whole workspace. */
export type Dialog = 'switcher' | 'settings' | 'browser' | 'create' | 'admin' | 'profile' | 'newDm' | 'people';
