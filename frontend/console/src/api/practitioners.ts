import { http } from './http'
import type { Page, Practitioner, PractitionerQuery, Team, TeamQuery } from './types'

export const listPractitioners = (q: PractitionerQuery = {}) =>
  http.get<Page<Practitioner>>('/api/v1/practitioners', q)

export const listTeams = (q: TeamQuery = {}) => http.get<Page<Team>>('/api/v1/teams', q)
