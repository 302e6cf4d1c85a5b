// Master patient index (主索引): review queue, person lookup and steward actions (/api/v1/mpi).
import { http } from './http'
import type { Page, PageQuery } from './types'

export type Agreement = 'agree' | 'partial' | 'disagree' | 'missing'
/** The comparisons of the model (jizuo/platform/mpi/comparisons.py), in display order. */
export const COMPARISONS = ['name', 'gender', 'birth', 'id_card', 'phone', 'address'] as const
export type ComparisonName = (typeof COMPARISONS)[number]

export interface ComparisonResult {
  level: string
  index: number
  agreement: Agreement
  /** log2(m/u) of this level, in bits */
  weight: number
}

export interface AgreementVector {
  weight?: number
  probability?: number
  comparisons?: Partial<Record<ComparisonName, ComparisonResult>>
  agreed?: string[]
  partial?: string[]
  disagreed?: string[]
  missing?: string[]
  decided_by?: string
}

export interface SourceRecord {
  source_patient_id: string
  institution_code: string | null
  institution_name: string | null
  institution_rank: number
  mrn: string | null
  updated_at: string
  score: number | null
  method: string | null
  linked_by: string | null
  linked_at: string | null
  name: string | null
  gender: string | null
  birth_date: string | null
  id_number: string | null
  insurance_no: string | null
  phone: string | null
  address: string | null
}

export type ReviewStatus = 'open' | 'linked' | 'distinct' | 'obsolete'

export interface Review {
  id: string
  status: ReviewStatus
  score: number
  weight: number
  model_version: string
  agreement: AgreementVector
  source_patient_id: string
  candidate_person_id: string
  candidate_patient_id: string | null
  created_at: string | null
  decided_by: string | null
  decision_note: string | null
  incoming: SourceRecord | null
  candidate: SourceRecord | null
}

export interface ReviewQuery extends PageQuery {
  status?: ReviewStatus
}

export interface Golden {
  name: string | null
  gender: string | null
  birth_date: string | null
  id_number: string | null
  insurance_no: string | null
  phone: string | null
  address: string | null
  sources: Record<string, string>
  rules: Record<string, string>
}

export interface Person {
  id: string
  status: 'active' | 'merged' | 'retired'
  version: number
  merged_into: string | null
  golden: Golden
  records: SourceRecord[]
  hidden_records: number
}

export interface PersonSummary {
  id: string
  status: string
  name: string | null
  gender: string | null
  birth_date: string | null
  id_number: string | null
  record_count: number
  hidden_records: number
  institutions: string[]
}

export interface MpiEvent {
  seq: number
  action: string
  person_ids: string[]
  patient_ids: string[]
  changes: Record<string, unknown>
  detail: Record<string, unknown>
  actor: string
  reverts_seq: number | null
  reverted_by_seq: number | null
  created_at: string | null
}

export interface Decision {
  review_id: string
  decision: 'link' | 'distinct'
  event: MpiEvent | null
}

const P = '/api/v1/mpi'

export const listReviews = (q: ReviewQuery = {}) => http.get<Page<Review>>(`${P}/reviews`, q)
export const getReview = (id: string) => http.get<Review>(`${P}/reviews/${encodeURIComponent(id)}`)
export const decideReview = (id: string, decision: 'link' | 'distinct', note: string) =>
  http.post<Decision>(`${P}/reviews/${encodeURIComponent(id)}/decision`, { decision, note: note || null })

export const searchPersons = (q: string) => http.get<PersonSummary[]>(`${P}/persons`, { q })
export const getPerson = (id: string) => http.get<Person>(`${P}/persons/${encodeURIComponent(id)}`)
export const personEvents = (personId: string) =>
  http.get<MpiEvent[]>(`${P}/events`, { person_id: personId, limit: 200 })

export const unlinkRecord = (patientId: string, reason: string) =>
  http.post<MpiEvent>(`${P}/patients/${encodeURIComponent(patientId)}/unlink`, { reason: reason || null })
export const mergePersons = (personId: string, intoPersonId: string, reason: string) =>
  http.post<MpiEvent>(`${P}/persons/${encodeURIComponent(personId)}/merge`, { into_person_id: intoPersonId, reason: reason || null })
export const splitPerson = (personId: string, patientIds: string[], reason: string) =>
  http.post<MpiEvent>(`${P}/persons/${encodeURIComponent(personId)}/split`, { source_patient_ids: patientIds, reason: reason || null })
export const revertEvent = (seq: number, reason: string) =>
  http.post<MpiEvent>(`${P}/events/${seq}/revert`, { reason: reason || null })
