// What the signed-in user may edit in the registry. The server decides (403 with a Chinese reason);
// this only hides buttons that would be refused.
import { computed } from 'vue'
import type { Id } from '@/api/types'
import { useAuthStore } from '@/stores/auth'

export const DISTRICT_WRITE = 'org:write'
export const OWN_WRITE = 'registry:write_own'
/** Fields an institution administrator may change of their own institution. */
export const OWN_ORGANIZATION_FIELDS = ['short_name', 'address', 'phone'] as const

export function useRegistryAccess() {
  const auth = useAuthStore()
  const perms = computed(() => new Set(auth.me?.permissions ?? []))
  const district = computed(() => perms.value.has(DISTRICT_WRITE))
  const ownOrgId = computed(() => (perms.value.has(OWN_WRITE) ? (auth.me?.organization?.id ?? null) : null))

  /** Departments, staff and teams of this institution (and its address/phone/short name). */
  const mayEditInstitution = (organizationId: Id | null | undefined) =>
    district.value || (ownOrgId.value !== null && organizationId != null && String(ownOrgId.value) === String(organizationId))

  return {
    /** Create, restructure, deactivate institutions. */
    district,
    ownOrg: computed(() => auth.me?.organization ?? null),
    mayEditInstitution,
    mayEditAnyStaff: computed(() => district.value || ownOrgId.value !== null),
  }
}
