// Which console sections each role may open. The server enforces access on every call;
// this only keeps the menu free of pages that would answer 403.
import type { Component } from 'vue'
import { Odometer, OfficeBuilding, UserFilled, Tickets, Lock, Document } from '@element-plus/icons-vue'
import type { Me, RoleCode } from '@/api/types'

export type Section = 'dashboard' | 'organizations' | 'practitioners' | 'residents' | 'users' | 'audit'

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
  { section: 'users', path: '/users', icon: Lock, permission: 'user:read', roles: ['district_admin', 'institution_admin'] },
  { section: 'audit', path: '/audit', icon: Document, permission: 'audit:read', roles: ['district_admin', 'regulator', 'institution_admin'] },
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
