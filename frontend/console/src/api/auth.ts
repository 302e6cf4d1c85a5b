import { request, tokens, http } from './http'
import type { Me, Role, TokenResponse } from './types'

export async function login(username: string, password: string): Promise<TokenResponse> {
  const t = await request<TokenResponse>('POST', '/api/v1/auth/token', {
    form: { username, password },
    auth: false,
  })
  tokens.save(t)
  return t
}

export async function logout(): Promise<void> {
  const refresh_token = tokens.refresh
  try {
    if (tokens.access) {
      // Revokes the refresh token server-side; local tokens are dropped whatever happens.
      await request<void>('POST', '/api/v1/auth/logout', { json: { refresh_token } })
    }
  } finally {
    tokens.clear()
  }
}

export const fetchMe = () => http.get<Me>('/api/v1/auth/me')
export const fetchRoles = () => http.get<Role[]>('/api/v1/roles')
