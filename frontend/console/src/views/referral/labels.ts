// Tag colours of referral states, shared by the list and the detail page.
import type { ReferralStatus } from '@/api/referral'

type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export function statusTag(status: ReferralStatus): TagType {
  switch (status) {
    case 'requested':
      return 'warning'
    case 'accepted':
    case 'scheduled':
    case 'arrived':
      return 'primary'
    case 'completed':
      return 'success'
    case 'rejected':
    case 'expired':
      return 'danger'
    default:
      return 'info'
  }
}
