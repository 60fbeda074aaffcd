export * from './config/all-in-one.config';
export * from './data-folder';
