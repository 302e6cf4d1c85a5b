// Which console sections each role may open. The server enforces access on every call;
// this only keeps the menu free of pages that would answer 403.
import type { Component } from 'vue'
import { Odometer, OfficeBuilding, UserFilled, Tickets, Lock, Document } from '@element-plus/icons-vue'
import { UploadFilled, WarningFilled, DataAnalysis, Connection } from '@element-plus/icons-vue'
import { Collection } from '@element-plus/icons-vue'
import { Share } from '@element-plus/icons-vue'
import { Finished, TrendCharts } from '@element-plus/icons-vue'
import { Switch } from '@element-plus/icons-vue'
import { FirstAidKit } from '@element-plus/icons-vue'
import { ChatDotRound } from '@element-plus/icons-vue'
import type { Me, RoleCode } from '@/api/types'

export type Section = 'dashboard' | 'organizations' | 'practitioners' | 'residents' | 'users' | 'audit'
  | 'mpi'
  | 'ingest' | 'quarantine' | 'quality' | 'feeds' | 'standards'
  | 'recognitionItems' | 'recognitionStats'
  | 'referral'
  | 'chronic'
  | 'chronicDevices'
  | 'consult'

export interface NavItem {
  section: Section
  path: string
  icon: Component
  /** Permission that, when the server lists it in /auth/me, grants the section. */
  permission: string
  /** Role fallback, used when the server sends no matching permission names. */
  roles: RoleCode[]
}

const STAFF: RoleCode[] = ['district_admin', 'regulator', 'institution_admin', 'doctor', 'family_doctor', 'nurse', 'pharmacist']
const CLINICAL: RoleCode[] = ['district_admin', 'institution_admin', 'doctor', 'family_doctor', 'nurse', 'pharmacist', 'resident']

export const NAV: NavItem[] = [
  { section: 'dashboard', path: '/', icon: Odometer, permission: 'stats:read', roles: [...STAFF, 'resident'] },
  { section: 'organizations', path: '/organizations', icon: OfficeBuilding, permission: 'org:read', roles: STAFF },
  { section: 'practitioners', path: '/practitioners', icon: UserFilled, permission: 'practitioner:read', roles: STAFF },
  { section: 'residents', path: '/residents', icon: Tickets, permission: 'resident:read', roles: CLINICAL },
  // Master patient index stewardship (issue 5): the district steward; an institution admin for its own records.
  { section: 'mpi', path: '/mpi', icon: Share, permission: 'mpi:steward', roles: ['district_admin', 'institution_admin'] },
  { section: 'users', path: '/users', icon: Lock, permission: 'user:read', roles: ['district_admin', 'institution_admin'] },
  { section: 'audit', path: '/audit', icon: Document, permission: 'audit:read', roles: ['district_admin', 'regulator', 'institution_admin'] },
  // Data ingestion and quality (issue 6). The regulator reads scores only: held records carry personal data.
  { section: 'ingest', path: '/ingest', icon: UploadFilled, permission: 'ingest:write', roles: ['district_admin', 'institution_admin'] },
  { section: 'quarantine', path: '/quarantine', icon: WarningFilled, permission: 'quality:fix', roles: ['district_admin', 'institution_admin'] },
  { section: 'quality', path: '/quality', icon: DataAnalysis, permission: 'quality:read', roles: ['district_admin', 'regulator', 'institution_admin'] },
  { section: 'feeds', path: '/feeds', icon: Connection, permission: 'ingest:write', roles: ['district_admin', 'institution_admin'] },
  // Data-standard catalogue (issue 6): every staff role reads it; district administrators extend it.
  { section: 'standards', path: '/standards', icon: Collection, permission: 'standards:read', roles: STAFF },
  // Result mutual recognition (issue 7): the catalogue for those who check orders (district admins edit it with
  // recognition:admin); statistics for stats:read — district-wide for the regulator and district, else own institution.
  { section: 'recognitionItems', path: '/recognition/items', icon: Finished, permission: 'recognition:check', roles: ['district_admin', 'doctor', 'family_doctor'] },
  { section: 'recognitionStats', path: '/recognition/stats', icon: TrendCharts, permission: 'stats:read', roles: STAFF },
  // 双向转诊 (issue 8): clinicians of the sending and receiving institutions.
  { section: 'referral', path: '/referral', icon: Switch, permission: 'referral:read', roles: ['district_admin', 'doctor', 'family_doctor', 'nurse'] },
  // 慢病管理与健康驿站 (issue 9): the family doctor's workbench — own team's alerts, residents, follow-ups.
  { section: 'chronic', path: '/chronic', icon: FirstAidKit, permission: 'chronic:care', roles: ['district_admin', 'family_doctor', 'nurse'] },
  // 健康驿站设备 (issue 9): registered by the district admin or the station's institution admin.
  { section: 'chronicDevices', path: '/chronic/devices', icon: FirstAidKit, permission: 'registry:write_own', roles: ['district_admin', 'institution_admin'] },
  // 居民咨询 (issue 9): questions the team's signed residents ask from the resident H5 (/h5/).
  { section: 'consult', path: '/consult', icon: ChatDotRound, permission: 'consult:answer', roles: ['district_admin', 'family_doctor', 'nurse'] },
]

const KNOWN_PERMISSIONS = new Set(NAV.map((n) => n.permission))

export function canOpen(me: Me | null, section: Section): boolean {
  if (!me) return false
  if (section === 'dashboard') return true
  const item = NAV.find((n) => n.section === section)
  if (!item) return false
  // Trust the server's permission list when it speaks our vocabulary; else fall back to roles.
  const speaksOurs = me.permissions.some((p) => KNOWN_PERMISSIONS.has(p))
  return speaksOurs ? me.permissions.includes(item.permission) : item.roles.includes(me.role)
}
