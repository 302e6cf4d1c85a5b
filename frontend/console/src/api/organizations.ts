import { http } from './http'
import type { Department, Id, Organization, OrganizationDetail, OrganizationQuery, OrgTreeLevel, Page, PageQuery } from './types'

// ---- registry editing (docs/registry.md): every edit of an existing row sends the version it read ----

/** Registry rows as the server returns them since editing exists: with the version an edit must name. */
export interface Versioned {
  version: number
}

export type EditableOrganization = Organization & Versioned & {
  latitude: number | null
  longitude: number | null
  updated_at: string | null
}

export type EditableOrganizationDetail = OrganizationDetail &
  EditableOrganization & { departments: (Department & Versioned)[] }

export interface OrganizationFields {
  name?: string
  short_name?: string | null
  level?: string
  type?: string
  parent_id?: Id | null
  uscc?: string | null
  address?: string | null
  phone?: string | null
  latitude?: number | null
  longitude?: number | null
}

export interface OrganizationCreate extends OrganizationFields {
  code: string
  name: string
  level: string
  type: string
}

export type OrganizationPatch = OrganizationFields & Versioned

export type RegistryEntity = 'organization' | 'department' | 'practitioner' | 'team'
export type RegistryAction = 'create' | 'update' | 'deactivate' | 'reactivate' | 'add_member' | 'remove_member'

export interface RegistryChange {
  id: string
  entity_type: RegistryEntity
  entity_id: string
  organization_id: string | null
  action: RegistryAction
  changed: string[]
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  actor_username: string | null
  request_id: string | null
  at: string
}

export interface RegistryChangeQuery extends PageQuery {
  entity_type?: RegistryEntity
  entity_id?: Id
  organization_id?: Id
}

const orgPath = (id: Id) => `/api/v1/organizations/${encodeURIComponent(String(id))}`

export const listOrganizations = (q: OrganizationQuery = {}) =>
  http.get<Page<EditableOrganization>>('/api/v1/organizations', q)

export const getOrganization = (id: Id) => http.get<EditableOrganizationDetail>(orgPath(id))

export const getOrganizationTree = () => http.get<OrgTreeLevel[]>('/api/v1/organizations/tree')

export const createOrganization = (body: OrganizationCreate) =>
  http.post<EditableOrganization>('/api/v1/organizations', body)

export const updateOrganization = (id: Id, body: OrganizationPatch) =>
  http.patch<EditableOrganization>(orgPath(id), body)

export const deactivateOrganization = (id: Id, version: number) =>
  http.post<EditableOrganization>(`${orgPath(id)}/deactivate`, { version })

export const reactivateOrganization = (id: Id, version: number) =>
  http.post<EditableOrganization>(`${orgPath(id)}/reactivate`, { version })

export const createDepartment = (organizationId: Id, body: { code: string; name: string }) =>
  http.post<Department & Versioned>(`${orgPath(organizationId)}/departments`, body)

export const updateDepartment = (id: Id, body: { name: string } & Versioned) =>
  http.patch<Department & Versioned>(`/api/v1/departments/${encodeURIComponent(String(id))}`, body)

export const listRegistryChanges = (q: RegistryChangeQuery = {}) =>
  http.get<Page<RegistryChange>>('/api/v1/registry/changes', q)
