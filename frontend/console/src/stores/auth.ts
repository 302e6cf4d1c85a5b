import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as api from '@/api'
import type { Me } from '@/api/types'
import { canOpen, type Section } from '@/navigation'

export const useAuthStore = defineStore('auth', () => {
  const me = ref<Me | null>(null)

  const isAuthenticated = computed(() => me.value !== null)
  const hasToken = () => api.tokens.access !== null

  async function loadMe(): Promise<Me> {
    me.value = await api.fetchMe()
    return me.value
  }

  async function login(username: string, password: string): Promise<Me> {
    await api.login(username, password)
    return loadMe()
  }

  async function logout(): Promise<void> {
    try {
      await api.logout()
    } catch {
      // Logging out must always succeed locally.
    } finally {
      me.value = null
    }
  }

  /** Forget the session without calling the server (refresh failed). */
  function reset(): void {
    api.tokens.clear()
    me.value = null
  }

  const can = (section: Section) => canOpen(me.value, section)

  return { me, isAuthenticated, hasToken, loadMe, login, logout, reset, can }
})
