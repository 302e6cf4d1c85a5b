import { getOrganization } from '@/api'

/** The organization code of an id picked in OrgSelect (uploads and 前置库 name the institution by code). */
export async function organizationCode(id: string | number): Promise<string> {
  return (await getOrganization(id)).code
}
