package api

import "github.com/gin-gonic/gin"

// AuthService is what the auth routes need (implemented by internal/auth).
type AuthService interface{}

func registerAuth(r *gin.Engine, d Deps) {}
