// Data quality (质控): the quarantine of held records, scorecards and the monthly Excel report.
import { buildQuery, downloadFile, http, saveBlob } from './http'
import type { Page, PageQuery } from './types'

// ---- quarantine (隔离区) ----
export interface RecordFailure {
  rule: string
  dimension: string
  severity: string
  message: string
  field: string | null
  element: string | null
}

export type HeldStatus = 'quarantined' | 'released' | 'discarded' | 'superseded'

export interface QuarantinedRecord {
  id: number
  batch_id: string
  row: number
  dataset_code: string | null
  institution_id: string | null
  institution_name?: string | null
  status: HeldStatus | string
  fields: Record<string, string>
  failures: RecordFailure[]
  received_at: string
  resources: string[]
  resolved_by: string | null
  resolution_note: string | null
}

export interface QuarantineQuery extends PageQuery {
  batch_id?: string
  dataset_code?: string
}

export const listQuarantine = (q: QuarantineQuery = {}) =>
  http.get<Page<QuarantinedRecord>>('/api/v1/quality/quarantine', q)
/** Change some fields and check the record again: released when it passes, else held with its new failures. */
export const fixQuarantined = (id: number, fields: Record<string, string>) =>
  http.patch<QuarantinedRecord>(`/api/v1/quality/quarantine/${id}`, { fields })
export const discardQuarantined = (id: number, reason: string) =>
  http.post<QuarantinedRecord>(`/api/v1/quality/quarantine/${id}/discard`, { reason })

// ---- scorecards (质控评分) ----
export type ScoreGroup = 'institution' | 'dataset' | 'day' | 'institution_dataset'

export interface ScoreRow {
  records: number
  duplicates: number
  held: number
  still_held: number
  completeness: number
  conformity: number
  logic: number
  timeliness: number
  error_rate: number
  score: number
  institution_id?: string | null
  code?: string | null
  name?: string | null
  dataset_code?: string | null
  day?: string
}

export interface Scorecard {
  from: string
  to: string
  group_by: ScoreGroup
  items: ScoreRow[]
}

export interface ScorecardQuery {
  group_by: ScoreGroup
  from?: string
  to?: string
  institution_id?: string
  dataset_code?: string
}

export const fetchScorecard = (q: ScorecardQuery) => http.get<Scorecard>('/api/v1/quality/scorecards', q)

/** Download the monthly report (YYYY-MM) as the server names it; returns the file name used. */
export const downloadMonthlyReport = (month: string): Promise<string> =>
  downloadFile(`/api/v1/quality/report.xlsx${buildQuery({ month })}`, `数据质量月报-${month}.xlsx`)

// Kept here for the pages that import it from this module; it lives in http.ts beside downloadFile.
export { saveBlob }
