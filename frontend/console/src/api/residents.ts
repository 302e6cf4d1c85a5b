import { http } from './http'
import type { ResidentPage, ResidentQuery } from './types'

export const listResidents = (q: ResidentQuery = {}) => http.get<ResidentPage>('/api/v1/residents', q)
