// Result mutual recognition (检查检验结果互认): stored checks, decisions, catalogue, statistics (/api/v1/recognition).
import { buildQuery, downloadFile, http } from './http'

export interface RecognitionObservation {
  reference: string
  code: string | null
  display: string | null
  value: string | null
  unit: string | null
  reference_range: string | null
}

export interface RecognitionMatch {
  report: string
  observations: RecognitionObservation[]
  effective: string
  organization: string | null
  organization_name: string | null
  level: string | null
  value: string | null
  unit: string | null
  reference_range: string | null
  conclusion: string | null
}

export interface RecognitionItemResult {
  system: string | null
  code: string
  item: string | null
  item_name: string | null
  recognisable: boolean
  window_days: number | null
  prompt_id: string | null
  matches: RecognitionMatch[]
  note: string | null
}

export interface RecognitionPrompt {
  id: string
  item_code: string
  decision: 'recognised' | 'retested' | null
  reason: string | null
  note: string | null
  recognised_report: string | null
  decided_at: string | null
  decided_by: string | null
}

export interface RecognitionCheck {
  check_id: string
  at: string
  organization_id: string
  person_id: string | null
  popup_url: string | null
  items: RecognitionItemResult[]
  prompts: RecognitionPrompt[]
}

export interface RetestReason {
  code: string
  name: string
  name_en: string
}

export interface DecisionIn {
  decision: 'recognised' | 'retested'
  reason?: string | null
  note?: string | null
  report?: string | null
}

export interface StatsRow {
  key: string | null
  label: string | null
  prompts: number
  recognised: number
  retested: number
  saved: number
}

export interface RecognitionStats {
  group: string
  start: string
  end: string
  totals: StatsRow
  rows: StatsRow[]
}

export type StatsGroup = 'organization' | 'department' | 'doctor' | 'item' | 'day' | 'reason'

export interface CatalogueCode {
  system: string
  code: string
  display: string | null
  /** The institution whose local code this is (local code systems only). */
  organization_code: string | null
}

export interface CatalogueItem {
  code: string
  name: string
  kind: 'lab' | 'exam'
  loinc: string | null
  window_days: number
  min_level: string
  needs_qc: boolean
  price: number
  active: boolean
  version: number
  codes: CatalogueCode[]
}

/** PATCH body: only what changed is sent; `codes` replaces the whole list of mappings. */
export interface CatalogueItemUpdate {
  window_days?: number
  min_level?: string
  needs_qc?: boolean
  price?: number
  active?: boolean
  codes?: CatalogueCode[]
}

export interface RecognitionInstitution {
  organization_id: string
  code: string
  name: string
  level: string
  participating: boolean
  qc_certified: boolean
  qc_valid_until: string | null
}

const P = '/api/v1/recognition'

export const recognitionApi = {
  check: (id: string) => http.get<RecognitionCheck>(`${P}/checks/${id}`),
  reasons: () => http.get<RetestReason[]>(`${P}/reasons`),
  decide: (promptId: string, body: DecisionIn) => http.post<RecognitionPrompt>(`${P}/prompts/${promptId}/decision`, body),
  items: () => http.get<CatalogueItem[]>(`${P}/items`),
  updateItem: (code: string, body: CatalogueItemUpdate) =>
    http.patch<CatalogueItem>(`${P}/items/${encodeURIComponent(code)}`, body),
  institutions: () => http.get<RecognitionInstitution[]>(`${P}/institutions`),
  statistics: (group: StatsGroup | string, start?: string, end?: string) =>
    http.get<RecognitionStats>(`${P}/statistics`, { group, start, end }),
}

/** The Excel export (one sheet per grouping, the same figures as the page); returns the file name used. */
export const downloadStatistics = (start?: string, end?: string): Promise<string> =>
  downloadFile(`${P}/statistics.xlsx${buildQuery({ start, end })}`, `检查检验结果互认统计-${start ?? ''}-${end ?? ''}.xlsx`)
