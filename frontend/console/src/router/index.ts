import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { setAuthLostHandler } from '@/api/http'
import { useAuthStore } from '@/stores/auth'
import type { Section } from '@/navigation'
import { i18n } from '@/i18n'
import MainLayout from '@/layouts/MainLayout.vue'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    section?: Section
    /** i18n key of the page title */
    title?: string
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/LoginView.vue'),
    meta: { public: true, title: 'login.title' },
  },
  {
    path: '/',
    component: MainLayout,
    children: [
      {
        path: '',
        name: 'dashboard',
        component: () => import('@/views/DashboardView.vue'),
        meta: { section: 'dashboard', title: 'menu.dashboard' },
      },
      {
        path: 'organizations',
        name: 'organizations',
        component: () => import('@/views/OrganizationsView.vue'),
        meta: { section: 'organizations', title: 'menu.organizations' },
      },
      {
        path: 'organizations/:id',
        name: 'organization-detail',
        component: () => import('@/views/OrganizationDetailView.vue'),
        props: true,
        meta: { section: 'organizations', title: 'menu.organizationDetail' },
      },
      {
        path: 'practitioners',
        name: 'practitioners',
        component: () => import('@/views/PractitionersView.vue'),
        meta: { section: 'practitioners', title: 'menu.practitioners' },
      },
      {
        path: 'residents',
        name: 'residents',
        component: () => import('@/views/ResidentsView.vue'),
        meta: { section: 'residents', title: 'menu.residents' },
      },
      {
        path: 'users',
        name: 'users',
        component: () => import('@/views/UsersView.vue'),
        meta: { section: 'users', title: 'menu.users' },
      },
      {
        path: 'audit',
        name: 'audit',
        component: () => import('@/views/AuditView.vue'),
        meta: { section: 'audit', title: 'menu.audit' },
      },
      {
        path: 'forbidden',
        name: 'forbidden',
        component: () => import('@/views/ForbiddenView.vue'),
        meta: { title: 'forbidden.title' },
      },
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('@/views/NotFoundView.vue'),
        meta: { title: 'notFound.title' },
      },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (to.meta.public) {
    // Already signed in: the login page has nothing to offer.
    if (to.name === 'login' && auth.hasToken() && auth.isAuthenticated) return { name: 'dashboard' }
    return true
  }
  if (!auth.hasToken()) {
    return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  }
  if (!auth.isAuthenticated) {
    try {
      await auth.loadMe()
    } catch {
      auth.reset()
      return { name: 'login', query: { redirect: to.fullPath } }
    }
  }
  if (to.meta.section && !auth.can(to.meta.section)) {
    return { name: 'forbidden' }
  }
  return true
})

router.afterEach((to) => {
  const { t } = i18n.global
  const title = to.meta.title ? t(to.meta.title) : ''
  document.title = title ? `${title} - ${t('app.title')}` : t('app.title')
})

setAuthLostHandler(() => {
  const auth = useAuthStore()
  auth.reset()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.push({ name: 'login', query: { redirect: current.fullPath } })
  }
})
