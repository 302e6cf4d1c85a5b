import { http, request } from './http'
import type { Id, Page, Practitioner, PractitionerQuery, Team, TeamQuery } from './types'
import type { Versioned } from './organizations'

export type EditablePractitioner = Practitioner & Versioned & { active: boolean }

/** One practitioner for the edit form: 身份证 and phone only masked. */
export interface PractitionerDetail extends EditablePractitioner {
  birth_date: string | null
  id_number_masked: string | null
  phone_masked: string | null
}

export interface PractitionerFields {
  name?: string
  gender?: string
  birth_date?: string | null
  /** Sent only when typed in: the server never returns it in full. */
  id_number?: string | null
  phone?: string | null
  organization_id?: Id
  department_id?: Id | null
  title?: string | null
  role?: string
}

export interface PractitionerCreate extends PractitionerFields {
  code: string
  name: string
  gender: string
  organization_id: Id
  role: string
}

export type PractitionerPatch = PractitionerFields & Versioned & { active?: boolean }

export type EditableTeam = Team & Versioned & { active: boolean }

const practitionerPath = (id: Id) => `/api/v1/practitioners/${encodeURIComponent(String(id))}`
const teamPath = (id: Id) => `/api/v1/teams/${encodeURIComponent(String(id))}`

export const listPractitioners = (q: PractitionerQuery = {}) =>
  http.get<Page<EditablePractitioner>>('/api/v1/practitioners', q)

export const getPractitioner = (id: Id) => http.get<PractitionerDetail>(practitionerPath(id))

export const createPractitioner = (body: PractitionerCreate) =>
  http.post<PractitionerDetail>('/api/v1/practitioners', body)

export const updatePractitioner = (id: Id, body: PractitionerPatch) =>
  http.patch<PractitionerDetail>(practitionerPath(id), body)

export const listTeams = (q: TeamQuery = {}) => http.get<Page<EditableTeam>>('/api/v1/teams', q)

export const getTeam = (id: Id) => http.get<EditableTeam>(teamPath(id))

export const createTeam = (body: { code: string; name: string; organization_id: Id; leader_id?: Id | null }) =>
  http.post<EditableTeam>('/api/v1/teams', body)

export const updateTeam = (id: Id, body: { name?: string; leader_id?: Id | null; active?: boolean } & Versioned) =>
  http.patch<EditableTeam>(teamPath(id), body)

export const addTeamMember = (id: Id, body: { practitioner_id: Id; team_role: string } & Versioned) =>
  http.post<EditableTeam>(`${teamPath(id)}/members`, body)

export const removeTeamMember = (id: Id, practitionerId: Id, version: number) =>
  request<EditableTeam>('DELETE', `${teamPath(id)}/members/${encodeURIComponent(String(practitionerId))}`, {
    query: { version },
  })
