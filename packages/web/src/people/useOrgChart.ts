import type { Person, Profile } from '@sotong/protocol';
import { OrgChart, type DepartmentNode } from '@sotong/sdk';
import { useEffect, useMemo, useState } from 'react';
import { useSession } from '../session/context';

/** The org chart over this session's client. */
export function useOrgChart(): OrgChart {
  const { client } = useSession();
  return useMemo(() => new OrgChart(client), [client]);
}

/** Loads `load()` whenever `key` changes; undefined while loading, null when it failed or `key` is null. */
function useLoaded<T>(key: string | null, load: () => Promise<T>): T | null | undefined {
  const [value, setValue] = useState<{ key: string | null; value: T | null }>();
  useEffect(() => {
    if (key === null) return setValue({ key, value: null });
    let live = true;
    load().then(
      (v) => live && setValue({ key, value: v }),
      () => live && setValue({ key, value: null }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return value?.key === key ? value.value : undefined;
}

export function useDepartmentTree(): DepartmentNode[] | null | undefined {
  const org = useOrgChart();
  return useLoaded('tree', () => org.tree());
}

export function useDepartmentMembers(departmentId: string | null): Person[] | null | undefined {
  const org = useOrgChart();
  return useLoaded(departmentId, async () => (await org.department(departmentId!)).members);
}

/** People matching a name fragment (a Korean syllable is enough), asked for a moment after typing stops. */
export function usePeopleSearch(query: string): Person[] | null | undefined {
  const org = useOrgChart();
  const [settled, setSettled] = useState(query.trim());
  useEffect(() => {
    const timer = setTimeout(() => setSettled(query.trim()), 200);
    return () => clearTimeout(timer);
  }, [query]);
  const result = useLoaded(settled === '' ? null : `q:${settled}`, () => org.search(settled));
  return settled === query.trim() ? result : undefined;
}

export function useProfile(userId: string | null): Profile | null | undefined {
  const org = useOrgChart();
  return useLoaded(userId, () => org.person(userId!));
}
