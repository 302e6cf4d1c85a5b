// Data ingestion (数据采集): data-set file uploads with receipts, batch history, 前置库 feeds, city upload,
// plus the few data-set catalogue reads the upload pages need (picker, column titles, CSV template).
import { ApiError, buildQuery, http, refreshTokens, tokens } from './http'
import type { Page, PageQuery, Problem } from './types'

// ---- receipts and batches ----
export type BatchStatus = 'received' | 'processing' | 'done' | 'failed'
export type QualityDimension = 'completeness' | 'conformity' | 'logic' | 'timeliness' | 'uniqueness' | 'referential'

export interface RecordError {
  row: number
  field: string | null
  element: string | null
  rule: string
  dimension: QualityDimension | string
  severity: 'error' | 'warning' | string
  message: string
}

export interface ReceiptNotes {
  encoding?: string
  ignored_columns?: string[]
  missing_required?: string[]
  rules?: number
}

export interface Receipt {
  batch_id: string
  source: string
  dataset_code: string | null
  institution_id: string | null
  institution_code?: string | null
  institution_name?: string | null
  filename: string | null
  status: BatchStatus | string
  received: number
  accepted: number
  quarantined: number
  duplicates: number
  errors: RecordError[]
  errors_truncated: boolean
  notes: ReceiptNotes
  error: string | null
  created_at: string
  finished_at: string | null
}

export interface Batch {
  batch_id: string
  source: string
  dataset_code: string | null
  institution_id: string | null
  institution_code?: string | null
  institution_name?: string | null
  filename: string | null
  submitted_by: string | null
  status: BatchStatus | string
  received: number
  accepted: number
  quarantined: number
  duplicates: number
  created_at: string
  finished_at: string | null
}

export interface BatchQuery extends PageQuery {
  dataset_code?: string
}

export const listBatches = (q: BatchQuery = {}) => http.get<Page<Batch>>('/api/v1/ingest/batches', q)
export const getReceipt = (batchId: string) => http.get<Receipt>(`/api/v1/ingest/batches/${encodeURIComponent(batchId)}`)
export const retryBatch = (batchId: string) =>
  http.post<Receipt>(`/api/v1/ingest/batches/${encodeURIComponent(batchId)}/retry`)

/** The shared client speaks JSON and forms only; a file upload needs multipart, with the same 401 → refresh rule. */
async function sendMultipart<T>(path: string, body: FormData): Promise<T> {
  const post = () => {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (tokens.access) headers.Authorization = `Bearer ${tokens.access}`
    return fetch(path, { method: 'POST', headers, body }).catch(() => {
      throw new ApiError(0, {}, 'network')
    })
  }
  let res = await post()
  if (res.status === 401 && (await refreshTokens())) res = await post()
  const text = await res.text()
  let data: unknown = undefined
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = text
  }
  if (!res.ok) {
    const problem: Problem = data && typeof data === 'object' ? (data as Problem) : {}
    throw new ApiError(res.status, problem, `HTTP ${res.status}`)
  }
  return data as T
}

/** Upload a CSV (UTF-8 / GB18030) or XLSX file of one data set; the answer is the batch's receipt. */
export function uploadDataset(datasetCode: string, file: File, institutionCode?: string): Promise<Receipt> {
  const form = new FormData()
  form.append('file', file, file.name)
  const query = buildQuery({ institution: institutionCode })
  return sendMultipart<Receipt>(`/api/v1/ingest/datasets/${encodeURIComponent(datasetCode)}${query}`, form)
}

// ---- 前置库 (front-end database) feeds ----
export interface FrontDbSource {
  id: string
  institution_id: string
  institution_code?: string | null
  institution_name?: string | null
  dataset_code: string
  dsn_masked: string
  table_name: string
  watermark_column: string
  watermark: string | null
  interval_seconds: number
  batch_size: number
  enabled: boolean
  last_run_at: string | null
  last_batch_id: string | null
  last_error: string | null
}

export interface FrontDbSourceCreate {
  institution?: string | null
  dataset_code: string
  dsn: string
  table_name: string
  watermark_column: string
  interval_seconds: number
  batch_size: number
  enabled: boolean
}

export const listFrontDbSources = () => http.get<FrontDbSource[]>('/api/v1/ingest/frontdb-sources')
export const createFrontDbSource = (body: FrontDbSourceCreate) =>
  http.post<FrontDbSource>('/api/v1/ingest/frontdb-sources', body)
/** Pull once now: the receipt of the new batch, or null when the source had no new rows. */
export const pullFrontDbSource = (id: string) =>
  http.post<Receipt | null>(`/api/v1/ingest/frontdb-sources/${encodeURIComponent(id)}/pull`)

// ---- city platform upload (市平台上传) ----
export type UploadState = 'pending' | 'sent' | 'failed'

export interface CityUploadBatch {
  id: string
  dataset_code: string
  from_record_id: number
  to_record_id: number
  rows: number
  state: UploadState | string
  attempts: number
  error: string | null
  requested_by: string | null
  created_at: string
  sent_at: string | null
}

export const runCityUpload = (datasetCode?: string) =>
  http.post<CityUploadBatch[]>(`/api/v1/city-upload/run${buildQuery({ dataset_code: datasetCode })}`)
export const listCityUploads = (q: BatchQuery = {}) => http.get<Page<CityUploadBatch>>('/api/v1/city-upload/batches', q)
export const resendCityUpload = (id: string) =>
  http.post<CityUploadBatch>(`/api/v1/city-upload/batches/${encodeURIComponent(id)}/resend`)

// ---- data-set catalogue (owned by the standards pages; only what uploads need) ----
export interface DatasetSummary {
  code: string
  name: string
  standard?: string | null
  category?: string
  version?: string
  /** 'published', or 'draft' for a data set never published yet (nothing can be uploaded to it). */
  status?: string
}

/** One column of a data set. The element's own name may come flat or nested, depending on the catalogue API. */
export interface DatasetColumn {
  name: string
  element: string | { id: string; name?: string }
  required?: boolean
  label?: string | null
  element_name?: string | null
  type?: string | null
  format?: string | null
}

export interface DatasetDetail extends DatasetSummary {
  key?: string[]
  fields: DatasetColumn[]
}

export const fetchDatasetCatalogue = async (): Promise<DatasetSummary[]> => {
  // Accept a bare list or a page, so the picker keeps working if the catalogue list becomes paged.
  const data = await http.get<DatasetSummary[] | Page<DatasetSummary>>('/api/v1/standards/datasets', { page_size: 200 })
  return Array.isArray(data) ? data : data.items
}
export const fetchDatasetColumns = (code: string) =>
  http.get<DatasetDetail>(`/api/v1/standards/datasets/${encodeURIComponent(code)}`)
