import { createRouter, createWebHistory } from 'vue-router'
import { setAuthLostHandler, tokens } from './api'
import { loadMe, me } from './session'

export const router = createRouter({
  history: createWebHistory('/h5/'),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    { path: '/', name: 'home', component: () => import('./views/HomeView.vue'), meta: { tab: true } },
    { path: '/readings', name: 'readings', component: () => import('./views/ReadingsView.vue'), meta: { tab: true } },
    { path: '/followups', name: 'followups', component: () => import('./views/FollowupsView.vue') },
    { path: '/alerts', name: 'alerts', component: () => import('./views/AlertsView.vue') },
    { path: '/ask', name: 'ask', component: () => import('./views/AskView.vue'), meta: { tab: true } },
    { path: '/faq', name: 'faq', component: () => import('./views/FaqView.vue'), meta: { tab: true } },
    { path: '/medication', name: 'medication', component: () => import('./views/MedicationView.vue') },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!tokens.access) return { name: 'login', query: { redirect: to.fullPath } }
  if (!me.value && !(await loadMe())) return { name: 'login', query: { redirect: to.fullPath } }
  if (me.value?.role !== 'resident') return { name: 'login' }
  return true
})

setAuthLostHandler(() => {
  me.value = null
  void router.replace({ name: 'login' })
})
