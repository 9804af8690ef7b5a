import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator';

/** One Authenticator (tokens and failed-authentication counts) for the API routes and the queue dashboard. */
@Module({ providers: [Authenticator], exports: [Authenticator] })
export class AuthModule {}
