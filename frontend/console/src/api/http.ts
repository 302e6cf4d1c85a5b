// Minimal fetch-based HTTP client: bearer token, one refresh attempt on 401, problem-JSON errors.
import type { FieldError, Problem, TokenResponse } from './types'

const ACCESS_KEY = 'jizuo.access_token'
const REFRESH_KEY = 'jizuo.refresh_token'

// Tokens live in sessionStorage: they survive a reload but not closing the tab (shared workstations).
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
  readonly errors: FieldError[]

  constructor(status: number, problem: Problem, fallback: string) {
    super(problem.detail || problem.title || fallback)
    this.name = 'ApiError'
    this.status = status
    this.code = problem.code
    this.detail = problem.detail
    this.errors = Array.isArray(problem.errors) ? problem.errors : []
  }
}

type QueryValue = string | number | boolean | null | undefined
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: object
  json?: unknown
  form?: Record<string, string>
  /** Send the bearer token and retry once after refreshing on 401 (default true). */
  auth?: boolean
}

let onAuthLost: () => void = () => {}
/** Called when the session cannot be recovered (refresh failed); the router sends the user to login. */
export function setAuthLostHandler(fn: () => void): void {
  onAuthLost = fn
}

export function buildQuery(query?: object): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query as Query)) {
    if (v === undefined || v === null || v === '') continue
    params.append(k, String(v))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

async function parseBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined
  const text = await res.text()
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (opts.form) {
    body = new URLSearchParams(opts.form)
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['Content-Type'] = 'application/json'
  }
  const access = tokens.access
  if (opts.auth !== false && access) headers.Authorization = `Bearer ${access}`
  try {
    return await fetch(path + buildQuery(opts.query), { method, headers, body })
  } catch {
    throw new ApiError(0, {}, 'network')
  }
}

let refreshing: Promise<boolean> | null = null

/** Exchange the refresh token for a new pair. Concurrent callers share one request. */
export function refreshTokens(): Promise<boolean> {
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

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, opts)
  if (res.status === 401 && opts.auth !== false) {
    if (await refreshTokens()) {
      res = await send(method, path, opts)
    }
    if (res.status === 401) {
      tokens.clear()
      onAuthLost()
    }
  }
  const data = await parseBody(res)
  if (!res.ok) {
    const problem: Problem = data && typeof data === 'object' ? (data as Problem) : {}
    throw new ApiError(res.status, problem, `HTTP ${res.status}`)
  }
  return data as T
}

/** Hand a blob to the browser as a download. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/**
 * Download a file the server builds (Excel exports) under the name it gives in Content-Disposition, else
 * `fallbackName`; returns the name used. The bearer token rules out a plain link; problem JSON becomes ApiError.
 */
export async function downloadFile(path: string, fallbackName: string): Promise<string> {
  const get = () =>
    fetch(path, { headers: tokens.access ? { Authorization: `Bearer ${tokens.access}` } : {} }).catch(() => {
      throw new ApiError(0, {}, 'network')
    })
  let res = await get()
  if (res.status === 401 && (await refreshTokens())) res = await get()
  if (!res.ok) {
    let problem: Problem = {}
    try {
      problem = (await res.json()) as Problem
    } catch {
      // not problem JSON: the status alone will do
    }
    throw new ApiError(res.status, problem, `HTTP ${res.status}`)
  }
  const disposition = res.headers.get('Content-Disposition') || ''
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1]
  const filename = encoded ? decodeURIComponent(encoded) : fallbackName
  saveBlob(await res.blob(), filename)
  return filename
}

export const http = {
  get: <T>(path: string, query?: object) => request<T>('GET', path, { query }),
  post: <T>(path: string, json?: unknown) => request<T>('POST', path, { json }),
  patch: <T>(path: string, json?: unknown) => request<T>('PATCH', path, { json }),
}
