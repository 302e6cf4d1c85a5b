import { http } from './http'
import type { Id, Organization, OrganizationDetail, OrganizationQuery, OrgTreeLevel, Page } from './types'

export const listOrganizations = (q: OrganizationQuery = {}) =>
  http.get<Page<Organization>>('/api/v1/organizations', q)

export const getOrganization = (id: Id) =>
  http.get<OrganizationDetail>(`/api/v1/organizations/${encodeURIComponent(String(id))}`)

export const getOrganizationTree = () => http.get<OrgTreeLevel[]>('/api/v1/organizations/tree')
