/** The deploy checklist of the guides, as data: what ran, how it went, how long it took, where to look. */
export type ItemId = 'backup' | 'migrate' | 'deploy' | 'switch' | 'smoke' | 'switch-back' | 'rollback' | 'incident';
export type ItemState = 'passed' | 'failed' | 'skipped' | 'not-run';

export interface ChecklistItem {
  id: ItemId;
  title: string;
  state: ItemState;
  seconds?: number;
  detail?: string;
  link?: { label: string; url: string };
}

export const TITLES: Record<ItemId, string> = {
  backup: 'Backup completed and verified',
  migrate: 'Migrations applied',
  deploy: 'Deployed and live',
  switch: 'Traffic switched',
  smoke: 'Smoke tests pass',
  'switch-back': 'Traffic switched back',
  rollback: 'Rolled back',
  incident: 'Incident issue opened',
};
