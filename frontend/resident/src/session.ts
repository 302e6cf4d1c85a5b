// Who is signed in (the resident's account), shared by the router guard and the pages.
import { ref } from 'vue'
import * as api from './api'

export const me = ref<api.Me | null>(null)

export async function loadMe(): Promise<api.Me | null> {
  if (!api.tokens.access) return null
  try {
    me.value = await api.fetchMe()
  } catch {
    me.value = null
  }
  return me.value
}

export async function signOut(): Promise<void> {
  try {
    await api.logout()
  } catch {
    // signing out always succeeds locally
  }
  me.value = null
}
