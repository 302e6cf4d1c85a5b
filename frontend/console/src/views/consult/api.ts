// 居民咨询 (questions residents ask their family-doctor team): the team's queue, answers, FAQ entries.
import { http, request } from '@/api/http'

export type ConsultCategory = 'medication' | 'examination' | 'followup' | 'other'

export interface ConsultQuestion {
  id: string
  category: ConsultCategory
  text: string
  status: 'open' | 'answered'
  created_at: string
  answer: string | null
  answered_at: string | null
  answered_by_name: string | null
  resident_id: string
  resident_name: string | null
  team_id: string
  team_name: string | null
  faq_id: string | null
}

export interface ConsultFaq {
  id: string
  category: ConsultCategory
  question: string
  answer: string
  published: boolean
}

const P = '/api/v1/consult'

export const consultApi = {
  questions: (query: { status?: string; category?: string; q?: string; offset?: number; limit?: number }) =>
    http.get<{ items: ConsultQuestion[]; total: number; open: number }>(`${P}/questions`, query),
  answer: (id: string, answer: string) => http.post<ConsultQuestion>(`${P}/questions/${id}/answer`, { answer }),
  publishFaq: (id: string, body: { question: string; answer: string; category?: ConsultCategory }) =>
    request<ConsultFaq>('PUT', `${P}/questions/${id}/faq`, { json: body }),
  unpublishFaq: (faqId: string) => http.post<ConsultFaq>(`${P}/faq/${faqId}/unpublish`),
}
