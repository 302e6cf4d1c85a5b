// Chronic disease management (慢病管理): the family doctor's alerts from health-station devices, registered
// hypertension / type 2 diabetes patients, follow-ups, today's tasks, resident trends and indicators
// (/api/v1/chronic).
import { http } from './http'

export type Disease = 'hypertension' | 'diabetes_t2'
export type AlertStatus = 'open' | 'acknowledged' | 'referred'

export interface ChronicAlert {
  id: string
  kind: 'bp_high' | 'glucose_high' | 'glucose_low'
  message: string
  status: AlertStatus
  created_at: string
  resident_id: string
  resident_name: string | null
  team_id: string | null
  reading_id: string
  referral_id: string | null
  acknowledged_at: string | null
}

export interface ChronicPatient {
  id: string
  resident_id: string
  resident_name: string | null
  disease: Disease
  team_id: string | null
  registered_on: string
  classification: string | null
  active: boolean
  next_due_on: string | null
  overdue: boolean
  open_alerts: number
  risk_flags: string[]
}

export interface Followup {
  id: string
  patient_id: string
  due_on: string
  status: 'planned' | 'done'
  reason: 'routine' | 'uncontrolled_recheck'
  done_on: string | null
  way: string | null
  systolic: number | null
  diastolic: number | null
  fasting_glucose: number | null
  classification: string | null
  note: string | null
}

export interface FollowupTask {
  followup_id: string
  patient_id: string
  resident_id: string
  resident_name: string | null
  disease: Disease
  due_on: string
  reason: string
  days_overdue: number
}

export interface TodayTasks {
  date: string
  followups: FollowupTask[]
  alerts: ChronicAlert[]
  open_alerts: number
}

export interface Reading {
  id: string
  kind: 'blood_pressure' | 'glucose_fasting' | 'glucose_random' | 'weight' | 'spo2'
  measured_at: string
  systolic: number | null
  diastolic: number | null
  pulse: number | null
  value: number | null
  unit: string
  flags: string[]
  station_id: string
  observation_id: string | null
}

export interface ResidentDetail {
  resident: { id: string; name: string; gender: string; birth_date: string; chronic: string[]; signed_team_id: string | null }
  patients: ChronicPatient[]
  followups: Record<string, Followup[]>
  alerts: ChronicAlert[]
  readings: Reading[]
}

export interface FollowupForm {
  done_on: string
  way: 'clinic' | 'home' | 'phone'
  systolic?: number | null
  diastolic?: number | null
  fasting_glucose?: number | null
  adverse_reaction?: boolean
  complication?: boolean
  note?: string | null
}

export interface IndicatorRow {
  key: string
  name: string
  disease: Disease
  known_patients: number
  managed: number
  standardized: number
  controlled: number
  followups_due: number
  followups_done: number
  management_rate: number | null
  standardized_rate: number | null
  control_rate: number | null
  followup_completion: number | null
}

export interface Indicators {
  year: number
  level: 'team' | 'centre' | 'district'
  rows: IndicatorRow[]
}

const P = '/api/v1/chronic'

export const chronicApi = {
  tasks: () => http.get<TodayTasks>(`${P}/tasks/today`),
  alerts: (status?: AlertStatus) => http.get<{ items: ChronicAlert[]; total: number }>(`${P}/alerts`, { status, limit: 200 }),
  acknowledge: (id: string) => http.post<ChronicAlert>(`${P}/alerts/${id}/acknowledge`),
  refer: (id: string) => http.post<{ alert: ChronicAlert; referral_id: string }>(`${P}/alerts/${id}/refer`, {}),
  patients: (query: { disease?: string; q?: string; offset?: number; limit?: number }) =>
    http.get<{ items: ChronicPatient[]; total: number }>(`${P}/patients`, query),
  resident: (id: string, days = 90) => http.get<ResidentDetail>(`${P}/residents/${id}`, { days }),
  recordFollowup: (patientId: string, form: FollowupForm) => http.post<Followup>(`${P}/patients/${patientId}/followups`, form),
  indicators: (level: Indicators['level'], year?: number) => http.get<Indicators>(`${P}/indicators`, { level, year }),
}
