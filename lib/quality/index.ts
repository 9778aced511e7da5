export * from './vqreport';
export * from './emodel';
export * from './publish';
export * from './legReport';
export * from './QualityMonitor';
export * from './timeline';
