// Institution id → name for tables that carry only the id (batches, 前置库 sources). One lookup per id per tab.
import { shallowRef } from 'vue'
import { getOrganization } from '@/api'
import type { Me } from '@/api/types'

const names = shallowRef<Record<string, string>>({})
const asked = new Set<string>()

export function useOrgNames() {
  /** The signed-in user's own institution needs no request. */
  function remember(me: Me | null): void {
    const org = me?.organization
    if (org && !names.value[String(org.id)]) names.value = { ...names.value, [String(org.id)]: org.name }
  }

  function ensure(ids: (string | null | undefined)[]): void {
    for (const id of new Set(ids)) {
      if (!id || asked.has(id) || names.value[id]) continue
      asked.add(id)
      getOrganization(id)
        .then((org) => {
          names.value = { ...names.value, [id]: org.name }
        })
        .catch(() => {
          // An institution the caller may not read keeps showing its id.
        })
    }
  }

  const nameOf = (id: string | null | undefined): string => (id ? (names.value[id] ?? id.slice(0, 8)) : '—')

  return { remember, ensure, nameOf }
}

/** The organization code of an id picked in OrgSelect (uploads and 前置库 name the institution by code). */
export async function organizationCode(id: string | number): Promise<string> {
  return (await getOrganization(id)).code
}
