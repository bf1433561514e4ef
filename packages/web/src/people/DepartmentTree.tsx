import type { DepartmentNode } from '@sotong/sdk';
import { useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';

interface Row {
  node: DepartmentNode;
  level: number;
  parentId: string | null;
}

/** The rows a reader can reach: every top-level department, and the children of expanded ones. */
function visibleRows(nodes: DepartmentNode[], expanded: ReadonlySet<string>, level = 1, parentId: string | null = null): Row[] {
  return nodes.flatMap((node) => [{ node, level, parentId }, ...(expanded.has(node.id) ? visibleRows(node.children, expanded, level + 1, node.id) : [])]);
}

/**
 * The department tree as an ARIA tree: one tab stop; ↑/↓ move, → opens or goes to the first child,
 * ← closes or goes to the parent, Home/End jump, Enter or Space selects.
 */
export function DepartmentTree({ tree, selected, onSelect }: { tree: DepartmentNode[]; selected: string | null; onSelect: (id: string) => void }) {
  const { t } = useTranslation();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [focused, setFocused] = useState<string | null>(null);
  const items = useRef(new Map<string, HTMLLIElement>());
  const rows = visibleRows(tree, expanded);
  const active = rows.find((r) => r.node.id === (focused ?? selected))?.node.id ?? rows[0]?.node.id;

  const toggle = (id: string, open: boolean) =>
    setExpanded((old) => {
      const next = new Set(old);
      if (open) next.add(id);
      else next.delete(id);
      return next;
    });
  const focus = (id: string | undefined) => {
    if (!id) return;
    setFocused(id);
    items.current.get(id)?.focus();
  };

  const onKeyDown = (event: KeyboardEvent, row: Row, index: number) => {
    const { node } = row;
    const open = expanded.has(node.id);
    const keys: Record<string, () => void> = {
      ArrowDown: () => focus(rows[index + 1]?.node.id),
      ArrowUp: () => focus(rows[index - 1]?.node.id),
      Home: () => focus(rows[0]?.node.id),
      End: () => focus(rows[rows.length - 1]?.node.id),
      ArrowRight: () => (node.children.length === 0 ? undefined : open ? focus(node.children[0]?.id) : toggle(node.id, true)),
      ArrowLeft: () => (open ? toggle(node.id, false) : focus(row.parentId ?? undefined)),
      Enter: () => onSelect(node.id),
      ' ': () => onSelect(node.id),
    };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  };

  if (tree.length === 0) return <p className="muted">{t('people.noDepartments')}</p>;
  return (
    <ul role="tree" aria-label={t('people.departments')} className="org-tree">
      {rows.map((row, index) => {
        const { node, level } = row;
        const hasChildren = node.children.length > 0;
        return (
          <li
            key={node.id}
            ref={(el) => {
              if (el) items.current.set(node.id, el);
              else items.current.delete(node.id);
            }}
            role="treeitem"
            aria-level={level}
            aria-selected={node.id === selected}
            aria-expanded={hasChildren ? expanded.has(node.id) : undefined}
            tabIndex={node.id === active ? 0 : -1}
            style={{ paddingInlineStart: `${(level - 1) * 16 + 4}px` }}
            className={node.id === selected ? 'selected' : undefined}
            onKeyDown={(e) => onKeyDown(e, row, index)}
            onFocus={() => setFocused(node.id)}
            onClick={() => {
              onSelect(node.id);
              if (hasChildren) toggle(node.id, !expanded.has(node.id));
            }}
          >
            <span aria-hidden="true" className="twisty">
              {hasChildren ? (expanded.has(node.id) ? '▾' : '▸') : ''}
            </span>
            {node.name} <small className="muted">({node.memberCount})</small>
          </li>
        );
      })}
    </ul>
  );
}
