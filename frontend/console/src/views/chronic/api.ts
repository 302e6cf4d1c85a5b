// Chronic care, part two (/api/v1/chronic/... and /api/v1/devices): family-doctor contracts and signing
// indicators, health-station devices, repeat prescriptions (代配药), the indicator export.
import { buildQuery, downloadFile, http } from '@/api/http'

export type ContractStatus = 'draft' | 'active' | 'expired' | 'terminated'
export type Level = 'team' | 'centre' | 'district'

export interface ServicePackage {
  code: string
  name: string
  price: number
  contents: string[]
  requires: string | null
}

export interface Contract {
  id: string
  resident_id: string
  resident_name: string | null
  team_id: string
  team_name: string | null
  status: ContractStatus
  packages: string[]
  package_names: string[]
  price: number
  starts_on: string
  ends_on: string
  renewed_from_id: string | null
  signed_at: string | null
  terminated_on: string | null
  termination_reason: string | null
  combination: { role: 'centre' | 'district_hospital' | 'city_hospital'; id: string; name: string | null }[]
  renewable: boolean
}

export interface SignForm {
  id_number?: string
  resident_id?: string
  team_id: string
  packages: string[]
  sign: boolean
}

export interface SigningRow {
  key: string
  name: string
  population: number
  signed: number
  signing_rate: number | null
  elderly_signing_rate: number | null
  hypertension_signing_rate: number | null
  diabetes_signing_rate: number | null
  due_for_renewal: number
  renewed: number
  renewal_rate: number | null
  encounters: number
  encounters_inside: number
  combination_visit_rate: number | null
}

export interface Device {
  id: string
  code: string
  name: string
  station_id: string
  station_code: string
  station_name: string
  active: boolean
  created_at: string
  key_rotated_at: string | null
  key?: string
}

export interface Refill {
  id: string
  resident_id: string
  resident_name: string | null
  medication: string
  medication_request_id: string
  days: number
  note: string | null
  proxy_name: string | null
  proxy_relation: string | null
  status: 'pending' | 'approved' | 'rejected' | 'cancelled'
  created_at: string
  decided_at: string | null
  decision_note: string | null
  new_medication_request_id: string | null
}

const P = '/api/v1/chronic'

export const contractApi = {
  packages: () => http.get<ServicePackage[]>(`${P}/contract-packages`),
  list: (query: { status?: string; q?: string; resident_id?: string; limit?: number }) =>
    http.get<{ items: Contract[]; total: number }>(`${P}/contracts`, query),
  sign: (form: SignForm) => http.post<Contract>(`${P}/contracts`, form),
  activate: (id: string) => http.post<Contract>(`${P}/contracts/${id}/sign`),
  renew: (id: string) => http.post<Contract>(`${P}/contracts/${id}/renew`, {}),
  terminate: (id: string, reason: string) => http.post<Contract>(`${P}/contracts/${id}/terminate`, { reason }),
  indicators: (level: Level, year?: number) =>
    http.get<{ year: number; level: Level; on: string; rows: SigningRow[] }>(`${P}/contract-indicators`, { level, year }),
  exportXlsx: (level: Level, year: number) =>
    downloadFile(`${P}/indicators.xlsx${buildQuery({ level, year })}`, `慢病与签约指标-${year}.xlsx`),
}

export const deviceApi = {
  list: () => http.get<Device[]>('/api/v1/devices'),
  stations: () => http.get<{ id: string; code: string; name: string }[]>('/api/v1/devices/stations'),
  register: (form: { station_id: string; code: string; name: string }) => http.post<Device>('/api/v1/devices', form),
  deactivate: (id: string) => http.post<Device>(`/api/v1/devices/${id}/deactivate`),
  activate: (id: string) => http.post<Device>(`/api/v1/devices/${id}/activate`),
  rotate: (id: string) => http.post<Device>(`/api/v1/devices/${id}/rotate-key`),
}

export const refillApi = {
  list: (status?: string) => http.get<Refill[]>(`${P}/medication-requests`, { status }),
  approve: (id: string, note?: string) => http.post<Refill>(`${P}/medication-requests/${id}/approve`, { note: note || null }),
  reject: (id: string, note: string) => http.post<Refill>(`${P}/medication-requests/${id}/reject`, { note }),
}

export const teamApi = {
  mine: () => http.get<{ id: string; name: string; centre: string }[]>(`${P}/contract-teams`),
}

export interface CopdAssessment {
  id: string
  assessed_on: string
  fev1_pct: number | null
  fev1_fvc: number | null
  mmrc: number | null
  cat: number | null
  exacerbations: number
  hospitalised: number
  gold_grade: number | null
  gold_group: string | null
}

export const copdApi = {
  list: (patientId: string) => http.get<CopdAssessment[]>(`${P}/patients/${patientId}/copd-assessments`),
  assess: (patientId: string, form: Omit<CopdAssessment, 'id' | 'gold_grade' | 'gold_group'>) =>
    http.post<CopdAssessment>(`${P}/patients/${patientId}/copd-assessments`, form),
}
