import type { CommandArgs, CommandName, CommandResult, Department, Person, Profile } from '@sotong/protocol';

/** What the org chart needs of a client: one command call (a `SotongClient` fits). */
export interface CommandCaller {
  call<N extends CommandName>(cmd: N, args: CommandArgs<N>): Promise<CommandResult<N>>;
}

export interface DepartmentNode extends Department {
  children: DepartmentNode[];
}

/**
 * The org chart over a connected client: the department tree, a department's people with titles,
 * one person's profile (department path, title, manager), and people by name in Korean or English.
 * Guests may read only their own profile and those of people they share a channel with.
 */
export class OrgChart {
  constructor(private readonly client: CommandCaller) {}

  /** Every department, flat, with parent ids and member counts. */
  async departments(): Promise<Department[]> {
    return (await this.client.call('org.departments', {})).departments;
  }

  /** The departments as a tree (see `departmentTree`). */
  async tree(): Promise<DepartmentNode[]> {
    return departmentTree(await this.departments());
  }

  /** A department, its path from the top, and its people. */
  department(departmentId: string, limit?: number): Promise<CommandResult<'org.department'>> {
    return this.client.call('org.department', { departmentId, ...(limit !== undefined ? { limit } : {}) });
  }

  person(userId: string): Promise<Profile> {
    return this.client.call('org.person', { userId });
  }

  /** People whose name (a syllable of a Korean name is enough), email or sign-in name contains `query`. */
  async search(query: string, limit?: number): Promise<Person[]> {
    return (await this.client.call('org.search', { query, ...(limit !== undefined ? { limit } : {}) })).people;
  }
}

/** The top-level departments, each with its children, sorted by name (Korean collation); a department whose parent is missing is top-level. */
export function departmentTree(departments: Department[]): DepartmentNode[] {
  const nodes = new Map(departments.map((d) => [d.id, { ...d, children: [] as DepartmentNode[] }]));
  const roots: DepartmentNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentId === null ? undefined : nodes.get(node.parentId);
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: DepartmentNode[]) => {
    list.sort((a, b) => a.name.localeCompare(b.name, 'ko'));
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}
