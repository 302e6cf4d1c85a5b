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
    // Result mutual recognition popup (issue 7): embedded by HIS pages in an iframe, outside the console
    // layout. Public to the router only: the page signs its API calls with the token the HIS hands it.
    path: '/recognition/popup',
    name: 'recognition-popup',
    component: () => import('@/views/recognition/PopupView.vue'),
    meta: { public: true, title: 'recognition.popup.title' },
  },
  {
    // 转诊移动版 (issue 8): phone-sized, outside the console layout, same sign-in.
    path: '/m/referrals/:id?',
    name: 'referral-mobile',
    component: () => import('@/views/referral/MobileReferralsView.vue'),
    meta: { section: 'referral', title: 'referralLoop.mobileTitle' },
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
        path: 'ingest',
        name: 'ingest',
        component: () => import('@/views/ingest/IngestView.vue'),
        meta: { section: 'ingest', title: 'menu.ingest' },
      },
      {
        path: 'quarantine',
        name: 'quarantine',
        component: () => import('@/views/ingest/QuarantineView.vue'),
        meta: { section: 'quarantine', title: 'menu.quarantine' },
      },
      {
        path: 'quality',
        name: 'quality',
        component: () => import('@/views/ingest/QualityView.vue'),
        meta: { section: 'quality', title: 'menu.quality' },
      },
      {
        path: 'feeds',
        name: 'feeds',
        component: () => import('@/views/ingest/FeedsView.vue'),
        meta: { section: 'feeds', title: 'menu.feeds' },
      },
      {
        path: 'standards',
        name: 'standards',
        component: () => import('@/views/standards/StandardsView.vue'),
        meta: { section: 'standards', title: 'menu.standards' },
      },
      {
        path: 'standards/elements',
        name: 'standards-elements',
        component: () => import('@/views/standards/ElementsView.vue'),
        meta: { section: 'standards', title: 'menu.standardsElements' },
      },
      {
        path: 'standards/datasets/:code',
        name: 'standards-dataset',
        component: () => import('@/views/standards/DataSetDetailView.vue'),
        props: true,
        meta: { section: 'standards', title: 'menu.standardsDetail' },
      },
      {
        path: 'referral',
        name: 'referrals',
        component: () => import('@/views/referral/ReferralListView.vue'),
        meta: { section: 'referral', title: 'menu.referral' },
      },
      {
        path: 'referral/new',
        name: 'referral-new',
        component: () => import('@/views/referral/ReferralCreateView.vue'),
        meta: { section: 'referral', title: 'referral.new' },
      },
      {
        path: 'referral/:id',
        name: 'referral-detail',
        component: () => import('@/views/referral/ReferralDetailView.vue'),
        props: true,
        meta: { section: 'referral', title: 'referral.detail' },
      },
      {
        path: 'chronic',
        name: 'chronic',
        component: () => import('@/views/chronic/WorkbenchView.vue'),
        meta: { section: 'chronic', title: 'menu.chronic' },
      },
      {
        path: 'chronic/residents/:id',
        name: 'chronic-resident',
        component: () => import('@/views/chronic/ResidentDetailView.vue'),
        meta: { section: 'chronic', title: 'chronicCare.residentTitle' },
      },
      {
        path: 'chronic/contracts',
        name: 'chronic-contracts',
        component: () => import('@/views/chronic/ContractsView.vue'),
        meta: { section: 'chronic', title: 'menu.chronic' },
      },
      {
        path: 'chronic/medication',
        name: 'chronic-medication',
        component: () => import('@/views/chronic/MedicationView.vue'),
        meta: { section: 'chronic', title: 'menu.chronic' },
      },
      {
        path: 'chronic/devices',
        name: 'chronic-devices',
        component: () => import('@/views/chronic/DevicesView.vue'),
        meta: { section: 'chronicDevices', title: 'menu.chronicDevices' },
      },
      {
        path: 'consult',
        name: 'consult',
        component: () => import('@/views/consult/ConsultQueueView.vue'),
        meta: { section: 'consult', title: 'menu.consult' },
      },
      {
        path: 'recognition/items',
        name: 'recognition-items',
        component: () => import('@/views/recognition/ItemsView.vue'),
        meta: { section: 'recognitionItems', title: 'menu.recognitionItems' },
      },
      {
        path: 'recognition/stats',
        name: 'recognition-stats',
        component: () => import('@/views/recognition/StatsView.vue'),
        meta: { section: 'recognitionStats', title: 'menu.recognitionStats' },
      },
      { path: 'mpi', redirect: '/mpi/reviews' },
      {
        path: 'mpi/reviews',
        name: 'mpi-reviews',
        component: () => import('@/views/mpi/ReviewQueueView.vue'),
        meta: { section: 'mpi', title: 'menu.mpi' },
      },
      {
        path: 'mpi/reviews/:id',
        name: 'mpi-review',
        component: () => import('@/views/mpi/ReviewDetailView.vue'),
        props: true,
        meta: { section: 'mpi', title: 'menu.mpiReview' },
      },
      {
        path: 'mpi/persons',
        name: 'mpi-persons',
        component: () => import('@/views/mpi/PersonSearchView.vue'),
        meta: { section: 'mpi', title: 'menu.mpi' },
      },
      {
        path: 'mpi/persons/:id',
        name: 'mpi-person',
        component: () => import('@/views/mpi/PersonDetailView.vue'),
        props: true,
        meta: { section: 'mpi', title: 'menu.mpiPerson' },
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
