// Two-way referral (双向转诊): inbox/outbox, create, detail with timeline, transitions, follow-up tasks
// (/api/v1/referrals), and the signed-in user's notifications (/api/v1/notifications).
import { ApiError, http, refreshTokens, tokens } from './http'

export type ReferralStatus =
  | 'draft' | 'requested' | 'accepted' | 'rejected' | 'scheduled' | 'arrived' | 'completed' | 'cancelled' | 'expired'
export type ReferralAction = 'submit' | 'accept' | 'reject' | 'schedule' | 'arrive' | 'complete' | 'cancel' | 'no_show'
export type Direction = 'up' | 'down' | 'lateral'
export type ReferralType = 'normal' | 'palliative' | 'emergency'
export type Urgency = 'routine' | 'urgent' | 'asap' | 'stat'

export interface OrgRef {
  id: string
  name: string
  level: string | null
}

export interface ReferralSummary {
  id: string
  status: ReferralStatus
  status_label: string
  version: number
  direction: Direction
  type: ReferralType
  urgency: Urgency
  patient_id: string
  patient_name: string | null
  reason: string
  diagnosis_text: string | null
  source_organization: OrgRef | null
  accepted_organization: OrgRef | null
  created_at: string
  requested_at: string | null
  expires_at: string | null
  appointment_at: string | null
}

export interface ReferralEvent {
  id: string
  action: string
  label: string
  from_status: string | null
  to_status: string
  at: string
  actor: string
  actor_organization: OrgRef | null
  note: string | null
}

export interface Referral extends ReferralSummary {
  diagnosis_code: string | null
  summary: string | null
  plan: string | null
  details: Record<string, unknown>
  candidates: (OrgRef | null)[]
  target_department_code: string | null
  target_practitioner: { id: string; name: string } | null
  source_practitioner: { id: string; name: string } | null
  accepted_practitioner: { id: string; name: string } | null
  appointment_place: string | null
  outcome: string | null
  reject_reason: string | null
  parent_id: string | null
  updated_at: string
  timeline: ReferralEvent[]
  followups: { id: string; title: string; status: string; due_at: string; team_id: string | null }[]
  actions: ReferralAction[]
  fhir: Record<string, string>
}

export interface ReferralPage {
  items: ReferralSummary[]
  total: number
  /** The total is counted up to 10,000 only. */
  total_capped: boolean
}

export interface ReferralCreate {
  id_number?: string
  patient_id?: string
  direction: Direction
  type: ReferralType
  urgency: Urgency
  reason: string
  diagnosis_code?: string
  diagnosis_text?: string
  summary?: string
  plan?: string
  details?: Record<string, unknown>
  target_organization_ids: string[]
  target_level?: string
  slot_id?: string
  submit?: boolean
}

export interface ActionBody {
  version?: number
  note?: string
  reason?: string
  appointment_at?: string
  appointment_place?: string
  outcome?: string
  down_referral?: { plan?: string; reason?: string }
  slot_id?: string
}

export interface Slot {
  id: string
  organization_id: string
  kind: 'referral' | 'expert'
  department_code: string | null
  practitioner_id: string | null
  start_at: string
  end_at: string
  place: string | null
  reserved_for_family_doctors: boolean
  green_channel: boolean
  status: 'free' | 'booked' | 'withdrawn'
  referral_id: string | null
  no_shows: number
}

export interface SlotsCreate {
  start_at: string
  minutes: number
  count: number
  kind: 'referral' | 'expert'
  place?: string
  reserved_for_family_doctors: boolean
  green_channel: boolean
}

export interface ReferredPatient {
  patient_id: string
  name: string | null
  gender: string | null
  birth_date: string | null
  resident_id: string | null
  signed_team_id: string | null
  home_organization_id: string | null
}

export interface Followup {
  id: string
  referral_id: string
  team_id: string | null
  title: string
  patient_name: string | null
  plan: string | null
  due_at: string
  status: string
  created_at: string
}

export interface NotificationItem {
  id: string
  kind: string
  title: string
  body: string
  link: string | null
  created_at: string
  read_at: string | null
}

const P = '/api/v1/referrals'

export const listReferrals = (query: {
  box: 'inbox' | 'outbox' | 'all'
  mine?: boolean
  status?: string
  direction?: string
  type?: string
  q?: string
  offset?: number
  limit?: number
}) => http.get<ReferralPage>(P, query)
export const getReferral = (id: string) => http.get<Referral>(`${P}/${id}`)
export const createReferral = (body: ReferralCreate) => http.post<Referral>(P, body)
export const referralAction = (id: string, action: ReferralAction, body: ActionBody = {}) =>
  http.post<Referral>(`${P}/${id}/${action}`, body)
export const lookupPatient = (idNumber: string) =>
  http.get<ReferredPatient>(`${P}/patient-lookup`, { id_number: idNumber })
export const listFollowups = (status?: string) => http.get<{ items: Followup[]; total: number }>(`${P}/followups`, { status })
export const listSlots = (query: { organization_id?: string; free?: boolean } = {}) =>
  http.get<Slot[]>(`${P}/slots`, query)
export const publishSlots = (body: SlotsCreate) => http.post<Slot[]>(`${P}/slots`, body)
export const listNotifications = (unread = false) =>
  http.get<{ items: NotificationItem[]; total: number; unread: number }>('/api/v1/notifications', { unread })
export const markNotificationRead = (id: string) => http.post<NotificationItem>(`/api/v1/notifications/${id}/read`)

// Loop closing, slot editing, attachments and statistics (issue 8, second part).
export interface Visit {
  id: string
  encounter_id: string
  patient_id: string
  resident_id: string | null
  patient_name: string | null
  team_id: string | null
  organization_name: string | null
  visit_class: 'outpatient' | 'inpatient' | 'emergency' | 'other'
  class_label: string
  started_at: string | null
  reason: string | null
  notified_at: string | null
  fhir: string
}

export interface Attachment {
  id: string
  referral_id: string
  kind: 'upload' | 'link'
  reference: string
  title: string
  content_type: string | null
  size: number | null
  created_by: string
  created_at: string
  download: string | null
}

export interface InstitutionStats {
  organization_id: string
  code: string
  name: string
  level: string | null
  sent_up: number
  sent_down: number
  sent_lateral: number
  received: number
  completed: number
  acceptance_rate: number | null
  hours_to_accept: number | null
  hours_to_complete: number | null
}

export interface ReferralStats {
  start: string
  end: string
  up: number
  down: number
  down_share: number | null
  institutions: InstitutionStats[]
}

export interface SlotEdit {
  start_at?: string
  minutes?: number
  place?: string
  reserved_for_family_doctors?: boolean
  green_channel?: boolean
}

export const listVisits = (query: { visit_class?: string; offset?: number; limit?: number } = {}) =>
  http.get<{ items: Visit[]; total: number }>(`${P}/visits`, query)
export const editSlot = (id: string, body: SlotEdit) => http.patch<Slot>(`${P}/slots/${id}`, body)
export const withdrawSlot = (id: string) => http.post<Slot>(`${P}/slots/${id}/withdraw`)
export const referralStats = (start?: string, end?: string) => http.get<ReferralStats>(`${P}/statistics`, { start, end })
export const listAttachments = (id: string) => http.get<Attachment[]>(`${P}/${id}/attachments`)
export const linkAttachment = (id: string, reference: string, title?: string) =>
  http.post<Attachment>(`${P}/${id}/attachments/link`, { reference, title })
export const listNotificationsPage = (query: { unread?: boolean; offset?: number; limit?: number } = {}) =>
  http.get<{ items: NotificationItem[]; total: number; unread: number }>('/api/v1/notifications', query)

/** Upload a PDF or image (multipart; the JSON client does not do forms with files). */
export async function uploadAttachment(id: string, file: File, title?: string): Promise<Attachment> {
  const body = new FormData()
  body.append('file', file)
  if (title) body.append('title', title)
  const send = () => fetch(`${P}/${id}/attachments`, {
    method: 'POST', body, headers: tokens.access ? { Authorization: `Bearer ${tokens.access}` } : {},
  })
  let res = await send()
  if (res.status === 401 && (await refreshTokens())) res = await send()
  const data = await res.json().catch(() => ({}))
  if (!res.ok) throw new ApiError(res.status, data, `HTTP ${res.status}`)
  return data as Attachment
}
