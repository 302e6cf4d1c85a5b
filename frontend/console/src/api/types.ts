// Typed interfaces for the Jizuo HTTP API (v1). Keep in sync with the backend contract.

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface PageQuery {
  page?: number
  page_size?: number
}

export interface Ref {
  id: number | string
  name: string
}

export type Id = number | string

// ---- auth ----
export interface TokenResponse {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  refresh_token: string
}

export interface Me {
  id: Id
  username: string
  display_name: string
  role: RoleCode
  role_display: string
  organization: { id: Id; code: string; name: string } | null
  permissions: string[]
}

export type RoleCode =
  | 'district_admin'
  | 'regulator'
  | 'institution_admin'
  | 'doctor'
  | 'family_doctor'
  | 'nurse'
  | 'pharmacist'
  | 'resident'

export interface Role {
  code: RoleCode
  name: string
  name_en: string
  description: string
}

// ---- organizations ----
export interface Organization {
  id: Id
  code: string
  uscc: string | null
  name: string
  short_name: string | null
  level: string
  level_display: string
  type: string
  type_display: string
  parent_id: Id | null
  parent_name: string | null
  address: string | null
  phone: string | null
  active: boolean
}

export interface Department {
  id: Id
  code: string
  name: string
}

export interface OrganizationDetail extends Organization {
  departments: Department[]
  children: Organization[]
  practitioner_count: number
}

export interface OrgTreeNode {
  id: Id
  code: string
  name: string
  type_display: string
  children: OrgTreeNode[]
}

export interface OrgTreeLevel {
  level: string
  level_display: string
  organizations: OrgTreeNode[]
}

export interface OrganizationQuery extends PageQuery {
  level?: string
  type?: string
  q?: string
  parent_id?: Id
}

// ---- practitioners & teams ----
export interface Practitioner {
  id: Id
  code: string
  name: string
  gender: string
  title: string | null
  role: string
  role_display: string
  organization: Ref
  department: Ref | null
  team: Ref | null
}

export interface PractitionerQuery extends PageQuery {
  organization_id?: Id
  role?: string
  q?: string
}

export interface TeamMember {
  practitioner_id: Id
  name: string
  team_role: string
  team_role_display: string
  organization_name: string
}

export interface Team {
  id: Id
  code: string
  name: string
  organization: Ref
  leader: Ref | null
  members: TeamMember[]
  signed_count: number
}

export interface TeamQuery extends PageQuery {
  organization_id?: Id
}

// ---- residents ----
export type ResidentScope = 'district' | 'organization' | 'team' | 'self'

export interface Resident {
  id: Id
  name: string
  gender: string
  birth_date: string
  age: number
  id_number_masked: string
  phone_masked: string | null
  address: string | null
  home_organization: Ref | null
  team: Ref | null
  chronic: string[]
}

export interface ResidentPage extends Page<Resident> {
  scope: ResidentScope
}

export interface ResidentQuery extends PageQuery {
  q?: string
}

// ---- users ----
export interface User {
  id: Id
  username: string
  display_name: string
  role: RoleCode
  role_display: string
  organization: Ref | null
  active: boolean
  locked_until: string | null
  last_login_at: string | null
  created_at: string
}

export interface UserQuery extends PageQuery {
  role?: string
  q?: string
  active?: boolean
}

export interface UserCreate {
  username: string
  display_name: string
  password: string
  role: RoleCode
  organization_id: Id | null
}

export interface UserPatch {
  active?: boolean
  display_name?: string
  role?: RoleCode
}

// ---- audit ----
export type AuditOutcome = 'success' | 'failure' | 'denied'

export interface AuditEntry {
  id: Id
  at: string
  actor_username: string | null
  actor_role: string | null
  organization_code: string | null
  action: string
  resource_type: string | null
  resource_id: string | number | null
  purpose: string | null
  outcome: AuditOutcome
  ip: string | null
  detail: unknown
}

export interface AuditQuery extends PageQuery {
  since?: string
  until?: string
  actor?: string
  action?: string
  resource_type?: string
  outcome?: string
}

// ---- stats ----
export interface LevelCount {
  level: string
  level_display: string
  count: number
}

export interface Overview {
  organizations: number
  practitioners: number
  teams: number
  residents: number
  signed_residents: number
  users: number
  by_level: LevelCount[]
}

export interface Health {
  status: string
  database: string
}

// ---- errors (RFC 9457 problem JSON) ----
export interface FieldError {
  field: string
  message: string
}

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  errors?: FieldError[]
}
