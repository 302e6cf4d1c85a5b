// The resident H5's HTTP client: the platform's own sign-in (the same /api/v1/auth endpoints and sessions as the
// console), bearer token with one refresh attempt on 401, RFC 9457 problem JSON turned into ApiError.

const ACCESS_KEY = 'jizuo.h5.access_token'
const REFRESH_KEY = 'jizuo.h5.refresh_token'

export interface TokenResponse {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
}

export interface Problem {
  title?: string
  status?: number
  detail?: string
  code?: string
  errors?: { field: string; message: string }[]
}

export const tokens = {
  get access(): string | null {
    return sessionStorage.getItem(ACCESS_KEY)
  },
  get refresh(): string | null {
    return sessionStorage.getItem(REFRESH_KEY)
  },
  save(t: TokenResponse): void {
    sessionStorage.setItem(ACCESS_KEY, t.access_token)
    sessionStorage.setItem(REFRESH_KEY, t.refresh_token)
  },
  clear(): void {
    sessionStorage.removeItem(ACCESS_KEY)
    sessionStorage.removeItem(REFRESH_KEY)
  },
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined
  readonly detail: string | undefined

  constructor(status: number, problem: Problem, fallback: string) {
    super(problem.detail || problem.title || fallback)
    this.name = 'ApiError'
    this.status = status
    this.code = problem.code
    this.detail = problem.detail
  }
}

let onAuthLost: () => void = () => {}
export function setAuthLostHandler(fn: () => void): void {
  onAuthLost = fn
}

interface Options {
  query?: Record<string, string | number | undefined | null>
  json?: unknown
  form?: Record<string, string>
  auth?: boolean
}

async function send(method: string, path: string, opts: Options): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (opts.form) {
    body = new URLSearchParams(opts.form)
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['Content-Type'] = 'application/json'
  }
  if (opts.auth !== false && tokens.access) headers.Authorization = `Bearer ${tokens.access}`
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.append(k, String(v))
  }
  const qs = params.toString()
  try {
    return await fetch(qs ? `${path}?${qs}` : path, { method, headers, body })
  } catch {
    throw new ApiError(0, {}, 'network')
  }
}

let refreshing: Promise<boolean> | null = null
function refreshTokens(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      const refresh_token = tokens.refresh
      if (!refresh_token) return false
      const res = await send('POST', '/api/v1/auth/refresh', { json: { refresh_token }, auth: false })
      if (!res.ok) return false
      tokens.save((await res.json()) as TokenResponse)
      return true
    })()
      .catch(() => false)
      .finally(() => {
        refreshing = null
      })
  }
  return refreshing
}

export async function request<T>(method: string, path: string, opts: Options = {}): Promise<T> {
  let res = await send(method, path, opts)
  if (res.status === 401 && opts.auth !== false) {
    if (await refreshTokens()) res = await send(method, path, opts)
    if (res.status === 401) {
      tokens.clear()
      onAuthLost()
    }
  }
  const text = res.status === 204 ? '' : await res.text()
  let data: unknown = undefined
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = text
  }
  if (!res.ok) {
    throw new ApiError(res.status, data && typeof data === 'object' ? (data as Problem) : {}, `HTTP ${res.status}`)
  }
  return data as T
}

// ---- types ----------------------------------------------------------------------------------------------
export interface Me {
  id: string
  username: string
  display_name: string
  role: string
}

export interface Reading {
  kind: 'blood_pressure' | 'glucose_fasting' | 'glucose_random' | 'weight' | 'spo2'
  measured_at: string
  systolic: number | null
  diastolic: number | null
  pulse: number | null
  value: number | null
  unit: string
  flags: string[]
}

export interface MyAlert {
  kind: string
  message: string
  status: string
  created_at: string
}

export interface PlanFollowup {
  due_on: string
  status: string
  done_on: string | null
}

export interface Plan {
  disease: string
  classification: string | null
  followups: PlanFollowup[]
}

export interface MyCare {
  name: string
  team: { name: string; members: { name: string; role: string | null }[] } | null
  readings: Reading[]
  alerts: MyAlert[]
  plans: Plan[]
  // Signing details, when the chronic-care service provides them (its contract view of the active contract).
  contract?: Contract | null
}

export interface Contract {
  status?: string
  package_names?: string[]
  starts_on?: string
  ends_on?: string
  signed_at?: string | null
  combination?: { role: string; name: string | null }[]
}

export interface Medication {
  id: string
  medication: string
  dosage: string | null
  authored_on: string | null
  supply_days: number | null
  requester: string | null
}

export interface Refill {
  id: string
  medication: string
  days: number
  note: string | null
  proxy_name: string | null
  proxy_relation: string | null
  status: 'pending' | 'approved' | 'rejected' | 'cancelled'
  created_at: string
  decided_at: string | null
  decision_note: string | null
}

export interface RefillIn {
  medication_request_id: string
  days: number
  note?: string
  proxy_name?: string
  proxy_relation?: string
}

export type Category = 'medication' | 'examination' | 'followup' | 'other'

export interface Question {
  id: string
  category: Category
  text: string
  status: 'open' | 'answered'
  created_at: string
  answer: string | null
  answered_at: string | null
  answered_by_name: string | null
  team_name: string | null
}

export interface Faq {
  id: string
  category: Category
  question: string
  answer: string
  updated_at: string | null
  created_at: string
}

// ---- calls ----------------------------------------------------------------------------------------------
export async function login(username: string, password: string): Promise<void> {
  tokens.save(await request<TokenResponse>('POST', '/api/v1/auth/token', { form: { username, password }, auth: false }))
}

export async function logout(): Promise<void> {
  const refresh_token = tokens.refresh
  try {
    if (tokens.access) await request<void>('POST', '/api/v1/auth/logout', { json: { refresh_token } })
  } finally {
    tokens.clear()
  }
}

export const fetchMe = () => request<Me>('GET', '/api/v1/auth/me')
export const fetchMyCare = (days = 90) => request<MyCare>('GET', '/api/v1/chronic/me', { query: { days } })
export const fetchMyQuestions = () =>
  request<{ items: Question[]; total: number }>('GET', '/api/v1/consult/questions', { query: { limit: 100 } })
export const askQuestion = (text: string, category: Category) =>
  request<Question>('POST', '/api/v1/consult/questions', { json: { text, category } })
export const searchFaq = (q: string, category?: Category | '') =>
  request<{ items: Faq[]; total: number }>('GET', '/api/v1/consult/faq', { query: { q, category, limit: 50 } })

// In-app notifications of the resident (answers to my questions).
export interface Notice {
  id: string
  kind: string
  title: string
  body: string
  created_at: string
}
export const fetchUnreadAnswers = () =>
  request<{ items: Notice[]; unread: number }>('GET', '/api/v1/notifications',
                                               { query: { unread: 'true', kind: 'consult_answer', limit: 50 } })
export const markNoticeRead = (id: string) => request<Notice>('POST', `/api/v1/notifications/${id}/read`)

// 用药 and 代配药: the chronic-care service's resident endpoints.
export const fetchMyContract = () => request<Contract | null>('GET', '/api/v1/chronic/me/contract')
export const fetchMyMedications = () => request<Medication[]>('GET', '/api/v1/chronic/me/medications')
export const fetchMyRefills = () => request<Refill[]>('GET', '/api/v1/chronic/me/medication-requests')
export const requestRefill = (body: RefillIn) =>
  request<Refill>('POST', '/api/v1/chronic/me/medication-requests', { json: body })
export const cancelRefill = (id: string) =>
  request<Refill>('POST', `/api/v1/chronic/me/medication-requests/${id}/cancel`)

export function errorMessage(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return err.status === 0 ? fallback : err.detail || err.message
  return err instanceof Error ? err.message : String(err)
}
