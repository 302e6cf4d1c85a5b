// The data-standard catalogue (数据标准目录): data sets and their versions, data elements, value domains, the
// Excel export. Reading is open to staff (standards:read); writing needs standards:write (district admin).
import { downloadFile, http } from './http'
import type { Page } from './types'

export type StdCategory = 'clinical' | 'public_health' | 'management'
export type VersionStatus = 'draft' | 'published' | 'retired'

export interface StdDataSetSummary {
  code: string
  name: string
  standard: string | null
  category: StdCategory
  category_display: string
  resource: string
  description: string | null
  version: string
  status: VersionStatus
  field_count: number
  rule_count: number
  /** Every check the quality engine runs per record: field-level checks plus the rules. */
  check_count: number
  has_draft: boolean
  published_at: string | null
}

export interface StdField {
  name: string
  label: string | null
  element: string
  element_name: string
  type: string
  type_display: string
  format: string
  required: boolean
  value_domain: string | null
  value_domain_name: string | null
  unit: string | null
  min: number | null
  max: number | null
  fhir: string | null
  fhir_system: string | null
  reference: string | null
}

export interface StdRule {
  id: string
  type: string
  type_display: string
  dimension: string
  dimension_display: string
  severity: 'error' | 'warning'
  message: string
  params: Record<string, unknown>
  fields: string[]
}

/** A data set as the YAML and the API body spell it (spec.py DataSetSpec); edited as JSON in the console. */
export type DataSetSpec = Record<string, unknown> & { code: string; name: string; version?: string }

export interface StdDataSetDetail extends StdDataSetSummary {
  revision: number
  key: string[]
  event_field: string | null
  institution_field: string | null
  fhir_fixed: Record<string, unknown>
  fields: StdField[]
  rules: StdRule[]
  spec: DataSetSpec
  created_by: string | null
  created_at: string
}

export interface StdVersion {
  code: string
  version: string
  revision: number
  status: VersionStatus
  name: string
  field_count: number
  rule_count: number
  created_by: string | null
  created_at: string
  published_at: string | null
  published_by: string | null
  retired_at: string | null
}

export interface StdElement {
  id: string
  name: string
  definition: string
  type: string
  type_display: string
  format: string
  value_domain: string | null
  value_domain_name: string | null
  unit: string | null
  min: number | null
  max: number | null
  origin: 'seed' | 'admin'
  created_by: string | null
  used_in: string[]
}

export interface ElementBody {
  id: string
  name: string
  definition: string
  type: string
  format: string
  value_domain?: string | null
  unit?: string | null
  min?: number | null
  max?: number | null
}

export interface StdDomainSummary {
  code: string
  name: string
  standard: string | null
  system: string
  value_count: number
  origin: 'seed' | 'admin'
  created_by: string | null
}

export interface StdCode {
  code: string
  display: string
}

export interface StdDomainDetail extends StdDomainSummary {
  values: StdCode[]
  fhir_map: Record<string, string>
  elements: { id: string; name: string }[]
}

export interface DomainBody {
  code: string
  name: string
  standard?: string | null
  system: string
  values: StdCode[]
  fhir_map?: Record<string, string>
}

const BASE = '/api/v1/standards'
const enc = encodeURIComponent

export const listStdDataSets = (q: { q?: string; category?: string } = {}) =>
  http.get<StdDataSetSummary[]>(`${BASE}/datasets`, q)

export const getStdDataSet = (code: string, version?: string) =>
  http.get<StdDataSetDetail>(`${BASE}/datasets/${enc(code)}`, { version })

export const listStdVersions = (code: string) => http.get<StdVersion[]>(`${BASE}/datasets/${enc(code)}/versions`)

export const createStdVersion = (code: string, spec: DataSetSpec) =>
  http.post<StdVersion>(`${BASE}/datasets/${enc(code)}/versions`, spec)

export const createStdDataSet = (spec: DataSetSpec) => http.post<StdVersion>(`${BASE}/datasets`, spec)

export const publishStdVersion = (code: string, version: string) =>
  http.post<StdVersion>(`${BASE}/datasets/${enc(code)}/versions/${enc(version)}/publish`)

export const listStdElements = (q: { q?: string; value_domain?: string; page?: number; page_size?: number }) =>
  http.get<Page<StdElement>>(`${BASE}/elements`, q)

export const createStdElement = (body: ElementBody) => http.post<StdElement>(`${BASE}/elements`, body)

export const listValueDomains = (q: { q?: string } = {}) => http.get<StdDomainSummary[]>(`${BASE}/value-domains`, q)

// Domain codes are standard numbers such as "GB/T 2261.1": the slash stays a path separator on purpose
// (the server route takes the rest of the path), every other character is encoded.
export const getValueDomain = (code: string) =>
  http.get<StdDomainDetail>(`${BASE}/value-domains/${code.split('/').map(enc).join('/')}`)

export const createValueDomain = (body: DomainBody) => http.post<StdDomainDetail>(`${BASE}/value-domains`, body)

/** Download the catalogue workbook (数据集、字段、数据元、值域、质控规则); returns the file name used. */
export const downloadCatalogueXlsx = (): Promise<string> => downloadFile(`${BASE}/export.xlsx`, '数据标准目录.xlsx')
