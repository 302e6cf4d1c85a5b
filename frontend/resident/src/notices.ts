// Unread "your question was answered" notifications: a badge on the 问医生 tab, cleared when the page is seen.
import { ref } from 'vue'
import * as api from './api'

export const unreadAnswers = ref(0)
let pending: api.Notice[] = []

export async function refreshUnread(): Promise<void> {
  if (!api.tokens.access) return
  try {
    pending = (await api.fetchUnreadAnswers()).items
    unreadAnswers.value = pending.length
  } catch {
    // a badge is not worth an error message
  }
}

export async function markAnswersRead(): Promise<void> {
  await refreshUnread()
  const seen = pending
  pending = []
  unreadAnswers.value = 0
  await Promise.allSettled(seen.map((n) => api.markNoticeRead(n.id)))
}
