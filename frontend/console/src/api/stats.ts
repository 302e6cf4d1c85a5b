import { request, http } from './http'
import type { Health, Overview } from './types'

export const fetchOverview = () => http.get<Overview>('/api/v1/stats/overview')
export const fetchHealth = () => request<Health>('GET', '/healthz', { auth: false })
