import { http } from './http'
import type { Id, Page, User, UserCreate, UserPatch, UserQuery } from './types'

const path = (id: Id) => `/api/v1/users/${encodeURIComponent(String(id))}`

export const listUsers = (q: UserQuery = {}) => http.get<Page<User>>('/api/v1/users', q)
export const createUser = (body: UserCreate) => http.post<User>('/api/v1/users', body)
export const updateUser = (id: Id, body: UserPatch) => http.patch<User>(path(id), body)
export const unlockUser = (id: Id) => http.post<void>(`${path(id)}/unlock`)
