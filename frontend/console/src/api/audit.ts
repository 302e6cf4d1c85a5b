import { http } from './http'
import type { AuditEntry, AuditQuery, Page } from './types'

export const listAudit = (q: AuditQuery = {}) => http.get<Page<AuditEntry>>('/api/v1/audit', q)
